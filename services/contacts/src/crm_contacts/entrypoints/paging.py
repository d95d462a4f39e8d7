"""Opaque list cursors and version preconditions (ETag / If-Match) of the HTTP API."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.responses import Response
from pydantic import BaseModel

from crm_shared import conditional
from crm_shared.cursors import ID, CursorCodec
from crm_shared.problems import BadRequest

_CODEC = CursorCodec(ID, max_length=64)
_VERSION_TAG = re.compile(r'(?:W/)?(?:"(\d{1,18})"|(\d{1,18}))')


def encode_cursor(last_id: str) -> str:
    """The opaque cursor continuing after `last_id` (crm_shared.cursors)."""
    return _CODEC.encode([last_id])


def decode_cursor(cursor: str) -> str:
    """The id a cursor continues after; 400 if the cursor was not made by encode_cursor."""
    [last_id] = _CODEC.decode(cursor)
    return str(last_id)


def etag(version: int) -> str:
    """The strong ETag of a contact version."""
    return conditional.version_etag(version)


def versioned_json(
    version: int, if_none_match: str | None, public: Callable[[], BaseModel]
) -> Response:
    """A GET's JSON answer with the version's ETag; 304 when If-None-Match names that version.

    Returned as a response, not as the route's model: FastAPI's response_model pass validated
    and encoded it again (the route's `response_model` still documents it). `public` is called
    only for a 200.
    """
    return conditional.versioned_json(version, if_none_match, lambda: public().model_dump_json())


def expected_version(if_match: str | None) -> int | None:
    """The version an If-Match header requires (`3`, `"3"` or `W/"3"`); None for absent or `*`."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = _VERSION_TAG.fullmatch(if_match.strip())
    if match is None:
        raise BadRequest('If-Match must be a contact version such as 3 or "3"')
    return int(match.group(1) or match.group(2))
