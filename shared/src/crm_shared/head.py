"""HEAD answered wherever GET is: the GET's status and headers, without its body (RFC 9110 9.3.2).

FastAPI's routes answer only the methods they declare, so a HEAD was a 405 everywhere. This
middleware hands the app the request as a GET (a copy of the scope: the server keeps its own,
which still says HEAD) and passes on the answer's start untouched (status, Content-Length,
ETag, a conditional 304, a 401, 429 or problem status alike) and an empty body. Whatever the GET
would do before its answer runs as for a GET: authentication, the rate limit (a HEAD spends
from it as a GET does), the access line and metrics (which name the method HEAD and the route).

A streamed answer is stopped, not generated to be thrown away: one without a Content-Length
(a StreamingResponse: an NDJSON stream, a CSV download) right after its headers, before its
first chunk; one that sends its body in parts (a file) after the first part. Its headers are
the GET's, except Transfer-Encoding, which the server adds only to a GET's stream.

The OpenAPI document does not list HEAD (FastAPI's routes still declare only GET); 405 answers
name HEAD wherever they name GET (`with_head`).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What routing records in the scope it is given: copied back to the HEAD's own scope, where the
# observability middleware reads the route's template.
_ROUTING_KEYS = ("route", "endpoint", "path_params")
# Statuses whose answers never have a body, so never a Content-Length either.
_NO_BODY = frozenset({204, 304})
_END = {"type": "http.response.body", "body": b"", "more_body": False}


class _Answered(Exception):
    """Raised into the app to stop a streamed GET once a HEAD has its headers."""


def with_head(methods: Sequence[str]) -> list[str]:
    """The methods of an Allow header: HEAD right after GET wherever GET is allowed."""
    named = [method for method in methods if method != "HEAD"]
    if "GET" not in named:
        return [*methods]
    at = named.index("GET") + 1
    return [*named[:at], "HEAD", *named[at:]]


class HeadAsGet:
    """ASGI middleware: a HEAD is the GET of the same URL, its body left out."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def leaves_alone(scope: Scope) -> bool:
        """Whether this request passes through untouched (crm_shared.fast_get skips it then)."""
        return scope["type"] != "http" or bool(scope["method"] != "HEAD")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.leaves_alone(scope):
            await self.app(scope, receive, send)
            return
        as_get = {**scope, "method": "GET"}
        ended = False

        async def headers_only(message: Message) -> None:
            nonlocal ended
            if ended:
                raise _Answered
            if message["type"] == "http.response.start":
                await send(message)
                if _streamed(message):  # nothing of its body is needed
                    ended = True
                    await send(_END)
                    raise _Answered
                return
            if message["type"] == "http.response.body":
                ended = True
                await send(_END)
                if message.get("more_body", False):
                    raise _Answered  # the rest of a body sent in parts
                return
            await send(message)

        try:
            await self.app(as_get, receive, headers_only)
        except _Answered:
            pass
        finally:
            for key in _ROUTING_KEYS:
                if key in as_get:
                    scope[key] = as_get[key]


def _streamed(start: Message) -> bool:
    """Whether an answer's body follows in parts of unknown total (no Content-Length)."""
    if start["status"] in _NO_BODY:
        return False
    return not any(name.lower() == b"content-length" for name, _ in start.get("headers", ()))
