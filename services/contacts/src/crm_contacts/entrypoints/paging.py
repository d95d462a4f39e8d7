"""Opaque list cursors and version preconditions (ETag / If-Match) of the HTTP API."""

from __future__ import annotations

import base64
import binascii
import re

from crm_shared.problems import BadRequest

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CURSOR_MAX = 64
_VERSION_TAG = re.compile(r'(?:W/)?(?:"(\d{1,18})"|(\d{1,18}))')


def encode_cursor(last_id: str) -> str:
    """The opaque cursor continuing after `last_id` (urlsafe base64, unpadded)."""
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The id a cursor continues after; 400 if the cursor was not made by encode_cursor."""
    if len(cursor) > _CURSOR_MAX:
        raise BadRequest("cursor is malformed; pass the next_cursor of a previous page")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        last_id = base64.b64decode(padded, altchars=b"-_", validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        last_id = ""
    if _UUID.fullmatch(last_id) is None:
        raise BadRequest("cursor is malformed; pass the next_cursor of a previous page")
    return last_id


def etag(version: int) -> str:
    """The strong ETag of a contact version."""
    return f'"{version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version an If-Match header requires (`3`, `"3"` or `W/"3"`); None for absent or `*`."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = _VERSION_TAG.fullmatch(if_match.strip())
    if match is None:
        raise BadRequest('If-Match must be a contact version such as 3 or "3"')
    return int(match.group(1) or match.group(2))
