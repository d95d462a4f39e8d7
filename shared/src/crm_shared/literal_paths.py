"""A literal path is a resource of its own: a method it lacks is a 405, before any other route.

`/v1/suppressions/check` also fits `/v1/suppressions/{identifier_hash}`. Starlette routes a
`DELETE /v1/suppressions/check` to the parameterised route, whose path validation then answers
422 ("check" is not a hash), though the OpenAPI document (and a client reading it) has a path
item of its own for `/v1/suppressions/check`, without DELETE. So the methods of every literal
path the document lists are checked before routing: any other method is a 405 naming, in
`Allow`, only that path's methods.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from crm_shared.head import with_head

PROBLEM_JSON = "application/problem+json"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def documented_methods(openapi: dict[str, Any], path: str) -> list[str] | None:
    """The methods the document lists for this literal path, in order; None if it is unlisted."""
    if "{" in path:  # a template, not a request path
        return None
    item = openapi.get("paths", {}).get(path)
    if not item:
        return None
    listed = {method.upper() for method in item}
    return [method for method in METHODS if method in listed]


def _answers(method: str, allowed: list[str]) -> bool:
    # HEAD is answered wherever GET is (crm_shared.head); the document does not list it.
    return method in allowed or (method == "HEAD" and "GET" in allowed)


def method_not_allowed(path: str) -> dict[str, Any]:
    """The problem+json body of a 405 on `path`."""
    return {
        "type": "about:blank",
        "title": "Method Not Allowed",
        "status": 405,
        "detail": "Method Not Allowed",
        "instance": path,
    }


class LiteralPathMethods:
    """ASGI middleware: a method a documented literal path lacks is a 405 with its `Allow`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def leaves_alone(scope: Scope) -> bool:
        """Whether this request passes through untouched (crm_shared.fast_get skips it then)."""
        return _allowed_if_refused(scope) is None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed = _allowed_if_refused(scope)
        if allowed is None:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        content = orjson.dumps(method_not_allowed(path))
        await send(
            {
                "type": "http.response.start",
                "status": 405,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(content)).encode()),
                    (b"allow", ", ".join(with_head(allowed)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})


def _allowed_if_refused(scope: Scope) -> list[str] | None:
    """The methods of the request's documented literal path when it lacks the request's method."""
    owner = scope.get("app")
    if scope["type"] != "http" or owner is None or not hasattr(owner, "openapi"):
        return None
    allowed = documented_methods(owner.openapi(), scope["path"])
    if allowed is None or _answers(scope["method"], allowed):
        return None
    return allowed
