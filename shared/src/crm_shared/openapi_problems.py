"""The OpenAPI documents declare the 4xx answers each route gives, as application/problem+json.

FastAPI documents a 422 as `application/json` (its own error shape) and nothing else, while
every error here is problem+json. Rather than repeat `responses=` on every route, the app's
document is post-processed once: each operation gets the problem answers its shape implies.

- 400: a JSON body (malformed JSON), a `cursor` parameter (a cursor this API did not issue), an
  `If-Match` header (not a version tag) or an `If-None-Match` header (not a list of tags);
- 401 (with `WWW-Authenticate: Bearer`) and 403: an operation that needs an API key;
- 404: a path with a parameter, or a JSON body naming another resource by id (a `*_id` or
  `*_ids` property): no such resource in the caller's tenant;
- 409: a write (a conflict, or another write committed first);
- 412: an operation taking `If-Match`;
- 415: a multipart body (the upload was sent as something else);
- 422: any operation (the edge guard refuses NUL in any query string; bodies and parameters
  are validated).

Statuses a route declares itself (410, 413, 415...) keep their description and get the
problem+json content too.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

PROBLEM_JSON = "application/problem+json"
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_WRITES = frozenset({"post", "put", "patch", "delete"})

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `errors` lists each invalid field (422).",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

_DESCRIPTIONS = {
    400: "Malformed JSON, a cursor this API did not issue, or an If-Match or If-None-Match that "
    "is not a version",
    401: "Missing or unknown API key",
    403: "The API key's role does not allow this",
    404: "No such resource in your tenant",
    409: "Conflicts with the current state, or another write committed first; retry",
    412: "If-Match does not name the current version",
    415: "The body is not of the declared media type",
    422: "Invalid input; `errors` names each field and rule",
}


def _resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if not ref.startswith("#/"):
        return schema
    target: Any = document
    for part in ref[2:].split("/"):
        target = target.get(part, {})
    return target if isinstance(target, dict) else {}


def _body_names_a_resource(document: dict[str, Any], operation: dict[str, Any]) -> bool:
    """Whether a JSON body has a `*_id` / `*_ids` property: an id that may name nothing."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = _resolved(document, content.get("application/json", {}).get("schema", {}))
    return any(name.endswith(("_id", "_ids")) for name in schema.get("properties", {}))


def _statuses(
    document: dict[str, Any], path: str, method: str, operation: dict[str, Any]
) -> set[int]:
    params = operation.get("parameters", [])
    names = {p.get("name", "").lower() for p in params}
    statuses = {422}
    if "requestBody" in operation or names & {"cursor", "if-match", "if-none-match"}:
        statuses.add(400)
    if operation.get("security"):
        statuses |= {401, 403}
    if any(p.get("in") == "path" for p in params) or "{" in path:
        statuses.add(404)
    if _body_names_a_resource(document, operation):
        statuses.add(404)
    if "multipart/form-data" in operation.get("requestBody", {}).get("content", {}):
        statuses.add(415)
    if method in _WRITES:
        statuses.add(409)
    if "if-match" in names:
        statuses.add(412)
    return statuses


def _problem_response(description: str, status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
    }
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}
        }
    return response


def declare_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Add the problem answers to every operation of an OpenAPI document (in place)."""
    document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if path in ("/healthz", "/readyz"):
                continue
            responses: dict[str, Any] = operation["responses"]
            for status in _statuses(document, path, method, operation):
                responses.setdefault(str(status), {"description": _DESCRIPTIONS[status]})
            for code, response in responses.items():
                if code.isdigit() and 400 <= int(code) < 500:
                    description = response.get("description") or _DESCRIPTIONS.get(int(code), "")
                    responses[code] = _problem_response(description, int(code))
    return document


def install_problem_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` declare the problem+json answers of every route."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            # FastAPI's generator caches its document on the app; it is post-processed once.
            app.openapi_schema = declare_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
