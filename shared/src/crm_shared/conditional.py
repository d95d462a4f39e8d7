"""Conditional GET (RFC 9110 section 13.1.2): `If-None-Match` against a representation's ETag.

A client that kept a representation and its ETag sends the tag back in `If-None-Match`; when it
still names the current representation the answer is 304 Not Modified, with the ETag and no
body. The header holds `*` (any current representation) or a list of entity tags (`"3"`,
`W/"3"`), compared weakly: `W/"3"` and `"3"` name the same version. A header that is neither
is a 400: a client that sent it expects a conditional answer it would not get.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from crm_shared.problems import BadRequest

# One list element: optional weakness, then a quoted opaque tag (etagc of RFC 9110 section 8.8.3),
# then the list's comma (or the end). Empty elements (", ,") are allowed, as in any HTTP list.
_ELEMENT = re.compile(r'[ \t]*(?:(?:W/)?"([\x21\x23-\x7e\x80-\xff]*)")?[ \t]*(?:,|$)')
MALFORMED = 'If-None-Match must be * or a list of entity tags such as "3" or W/"3"'

# The header, documented on a route by `openapi_extra=IF_NONE_MATCH` and read with
# `if_none_match(request)`: as a FastAPI header parameter its validation cost a GET by id 120
# Python calls (10% more), for a value the parser below checks anyway.
IF_NONE_MATCH: dict[str, Any] = {
    "parameters": [
        {
            "name": "if-none-match",
            "in": "header",
            "required": False,
            "description": 'ETags of versions the client holds ("3", W/"3", a list, or *): when '
            "one is the current version the answer is 304 Not Modified, without a body",
            "schema": {"type": "string", "title": "If-None-Match"},
        }
    ]
}

NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {
        "description": "Not Modified: If-None-Match names the current version (ETag, no body)",
        "headers": {"ETag": {"description": "The current version", "schema": {"type": "string"}}},
    }
}


def if_none_match(request: Request) -> str | None:
    """The request's If-None-Match: its field lines as one list (RFC 9110 section 5.3)."""
    # Read off the scope (ASGI gives names lowercased): Headers' own look-up cost a GET by id
    # several times as much, for the one header every GET of a representation asks for.
    lines = [value.decode("latin-1") for name, value in request.scope["headers"] if name == _INM]
    return ", ".join(lines) if lines else None


_INM = b"if-none-match"


def opaque_tags(header: str) -> list[str] | None:
    """The opaque tags an If-None-Match value lists (W/ dropped); None for `*`; 400 if malformed."""
    if header.strip(" \t") == "*":
        return None
    tags: list[str] = []
    position, end = 0, len(header)
    while position < end:
        element = _ELEMENT.match(header, position)
        if element is None or element.end() == position:
            raise BadRequest(MALFORMED, extra={"field": "If-None-Match"})
        if element.group(1) is not None:
            tags.append(element.group(1))
        position = element.end()
    return tags


def none_match_fails(header: str | None, etag: str) -> bool:
    """Whether a GET with `If-None-Match: header` answers 304 for the representation `etag`.

    Weak comparison (section 8.8.3.2): the tags' opaque parts are compared, weakness ignored.
    """
    if header is None:
        return False
    tags = opaque_tags(header)
    return tags is None or etag.removeprefix("W/").strip('"') in tags


def not_modified(etag: str) -> Response:
    """The 304 answer: the ETag it would have carried, no body."""
    return Response(status_code=304, headers={"ETag": etag})


def version_etag(version: int) -> str:
    """The strong ETag of a representation's version: `"3"`."""
    return f'"{version}"'


def versioned_json(
    version: int, if_none_match: str | None, body: Callable[[], str | bytes]
) -> Response:
    """A GET's JSON answer with the version's ETag; 304 when If-None-Match names that version.

    `body` is called only for a 200. FastAPI routes and crm_shared.fast_get endpoints both
    answer with it, so the two give the same bytes and headers.
    """
    tag = version_etag(version)
    if none_match_fails(if_none_match, tag):
        return not_modified(tag)
    content = body()
    if isinstance(content, str):
        content = content.encode()
    return _JsonAnswer(
        content,
        [
            (b"etag", tag.encode("latin-1")),
            (b"content-length", str(len(content)).encode("latin-1")),
            (b"content-type", b"application/json"),
        ],
    )


class _JsonAnswer(Response):
    """A 200 JSON response given its raw headers, as `Response(body, media_type=..., headers=...)`
    would make them (same names, values and order) without building them from a dict."""

    media_type = "application/json"

    def __init__(self, content: bytes, raw_headers: list[tuple[bytes, bytes]]) -> None:
        # Response.__init__ is left out on purpose: its header building was the cost removed.
        self.status_code = 200
        self.background = None
        self.body = content
        self.raw_headers = raw_headers
