"""HEAD next to GET on every GET route of a service's app: the same status and headers, no body."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

# Differ between any two requests by design (a random id each).
_DIFFERING = frozenset({"x-request-id"})
# Answers that change with every request (a HEAD is counted too): their length differs.
_CHANGING = frozenset({"/metrics"})
# Stands for every path parameter: a well-formed id nothing holds.
SOME_ID = "01a230ba-798f-7165-8cd8-089a76caf01d"


def get_paths(app: FastAPI) -> list[str]:
    """A request path for each GET route of the app, its parameters filled with SOME_ID."""
    paths = []
    for route in _flat(app.routes):
        if _is_api(route) and "GET" in route.methods:
            path = route.path_format
            for name in route.param_convertors:
                path = path.replace(f"{{{name}}}", SOME_ID)
            paths.append(path)
    return paths


def _flat(routes: list[Any]) -> Iterator[Any]:
    """Every route, an included router's in its place (as crm_shared.fast_get walks them)."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            yield from contexts()  # each with its full path and methods
        else:
            yield route


def _is_api(route: Any) -> bool:
    return isinstance(route, APIRoute) or hasattr(route, "original_route")


async def head_as_get(
    client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> tuple[int, httpx.Headers]:
    """HEAD then GET of `path`: asserts the same status and headers and an empty HEAD body."""
    head = await client.head(path, headers=headers)
    got = await client.get(path, headers=headers)
    assert head.content == b"", path
    assert head.status_code == got.status_code, path
    differing = _DIFFERING | {"content-length"} if path in _CHANGING else _DIFFERING
    seen = {name: value for name, value in head.headers.items() if name not in differing}
    wanted = {name: value for name, value in got.headers.items() if name not in differing}
    assert seen == wanted, path
    return head.status_code, head.headers


async def every_get_route_answers_head(
    app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str]
) -> Counter[int]:
    """HEAD as GET on every GET route of the app; how many answered with each status."""
    statuses: Counter[int] = Counter()
    for path in get_paths(app):
        status, _ = await head_as_get(client, path, headers)
        statuses[status] += 1
    return statuses
