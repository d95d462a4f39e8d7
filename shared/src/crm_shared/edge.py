"""The edge guard: what no route may receive, refused before routing as a 422 naming the field.

JSON allows what no store holds: `"\\ud800"` (a lone surrogate) and `"\\u0000"` decode to
Python text that UTF-8 cannot encode, integers have no bound, and nesting has no limit (the
standard decoder raises RecursionError on deep input). Every model would have to repeat those
rules on every field; instead, one ASGI middleware decodes each JSON body once, walks it, and
answers 422 problem+json with the path of the first offending value (never the value: it may
be personal data). Query parameters are checked for NUL the same way. The body it read is
replayed unchanged to the app.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_shared.validation import MAX_JSON_DEPTH, TEXT_RULE, json_problem_at

PROBLEM_JSON = "application/problem+json"
# Deeper than any request model nests; free-form fields (activity data) have their own limit.
MAX_BODY_DEPTH = MAX_JSON_DEPTH + 8


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def invalid_request(errors: list[dict[str, Any]], instance: str) -> dict[str, Any]:
    """The problem+json body of a 422 for these validation errors (loc, msg, type)."""
    detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
    return {
        "type": "https://crm.example/problems/invalid-request",
        "title": "Invalid request",
        "status": 422,
        "detail": detail,
        "instance": instance,
        "errors": errors,
    }


def query_errors(query_string: bytes) -> list[dict[str, Any]]:
    """NUL in any query parameter (name or value), as validation errors."""
    text = query_string.decode("latin-1")
    if "%00" not in text and "\x00" not in text:
        return []
    return [
        {"loc": ["query", _clean(name)], "msg": TEXT_RULE, "type": "value_error"}
        for name, value in parse_qsl(text, keep_blank_values=True)
        if "\x00" in name or "\x00" in value
    ]


def _clean(name: str) -> str:
    return name.replace("\x00", "?")


def body_errors(body: bytes) -> list[dict[str, Any]]:
    """What no route may receive in a JSON body, as validation errors; [] when fine.

    Malformed JSON is left to the app (a 400 naming the position).
    """
    if not body:
        return []
    try:
        # The decoder the app uses: it yields unbounded integers and lone surrogates as they are.
        decoded = json.loads(body)
    except RecursionError:
        rule = f"must nest at most {MAX_BODY_DEPTH} levels"
        return [{"loc": ["body"], "msg": rule, "type": "value_error"}]
    except ValueError:
        return []
    return _as_errors(json_problem_at(decoded, max_depth=MAX_BODY_DEPTH))


def _as_errors(found: tuple[tuple[str | int, ...], str] | None) -> list[dict[str, Any]]:
    if found is None:
        return []
    loc, rule = found
    return [{"loc": ["body", *loc], "msg": rule, "type": "value_error"}]


class EdgeGuard:
    """ASGI middleware refusing NUL in query strings and unstorable JSON bodies with a 422."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def leaves_alone(scope: Scope) -> bool:
        """Whether this request passes through untouched (crm_shared.fast_get skips it then)."""
        if scope["type"] != "http":
            return True
        return not query_errors(scope.get("query_string", b"")) and not _is_json(scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        errors = query_errors(scope.get("query_string", b""))
        if errors:
            await _refuse(scope, send, errors)
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        errors = body_errors(body)
        if errors:
            await _refuse(scope, send, errors)
            return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(scope: Scope, send: Send, errors: list[dict[str, Any]]) -> None:
    content = orjson.dumps(invalid_request(errors, scope.get("path", "")))
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(content)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})
