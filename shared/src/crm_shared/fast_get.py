"""GETs by key answered in front of FastAPI's routing; their FastAPI routes stay for the document.

A GET by id spent most of its time in FastAPI's machinery (routing through every included
router, resolving dependencies) rather than in its read. A `FastGet` names such a route's
FastAPI endpoint, the role it requires and a handler `(store, tenant, path params) ->
(version, body)`; `install_fast_gets` puts, in front of the app's router (inside the middleware
stack and the exception handlers, so both keep doing their job), a dispatcher that answers a
GET whose path fits the route's template itself: the same caller admission (401, then 429, once
per request: `admitted_principal`), role (403), tenant, store, conditional GET (304, 400) and
JSON answer (`conditional.versioned_json`) as the route; its errors reach the app's exception
handlers as the route's do. A HEAD reaches it as a GET (crm_shared.head, around the router,
leaves out the body). The FastAPI route keeps its declaration and stays the answer to anything
else (other methods, a trailing slash): the OpenAPI document does not change.

The same dispatcher also answers from a front door right inside the observability middleware,
skipping the middlewares between that leave such a GET alone (`_FrontDoor`); a request any of
them would act on (a HEAD, a NUL in the query...) goes the whole way, to the dispatcher above.

A request goes to FastAPI when an earlier route could take its path: the routes before the
fast one are looked at once, at installation (which therefore comes after every router is
included), and a path one of them fits is left to FastAPI's own routing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from re import Pattern
from typing import Any

from fastapi import FastAPI
from starlette._utils import get_route_path
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from crm_shared.auth import Role
from crm_shared.conditional import if_none_match, versioned_json
from crm_shared.http import admitted_principal, request_store
from crm_shared.storage import DocumentStore

# A representation: its version (the ETag) and its JSON body, made only for a 200.
Representation = tuple[int, Callable[[], str | bytes]]
Handler = Callable[[DocumentStore, str, dict[str, Any]], Awaitable[Representation]]


@dataclass(frozen=True)
class FastGet:
    """A FastAPI GET route (found by its endpoint) answered by `handler` for callers of `role`."""

    endpoint: Callable[..., Any]
    role: Role
    handler: Handler


@dataclass(frozen=True)
class _Compiled:
    get: FastGet
    route: Any  # what FastAPI puts in scope["route"] for it (the metrics read its template)
    regex: Pattern[str]
    convertors: dict[str, Any]
    literal_shadows: frozenset[str]  # earlier routes' literal paths the template also fits
    pattern_shadows: tuple[Pattern[str], ...]  # earlier templated routes that may overlap

    def path_params(self, path: str) -> dict[str, Any] | None:
        """The path's parameters when this GET answers it; None when FastAPI must route it."""
        match = self.regex.match(path)
        if match is None or path in self.literal_shadows:
            return None
        if any(shadow.match(path) for shadow in self.pattern_shadows):
            return None
        return {
            name: self.convertors[name].convert(value) for name, value in match.groupdict().items()
        }


class _FastGets:
    """The dispatcher in front of the router: a GET a fast route fits is answered here."""

    def __init__(self, app: ASGIApp, routes: list[_Compiled]) -> None:
        self.app = app
        self._routes = routes

    def fitting(self, scope: Scope) -> tuple[_Compiled, dict[str, Any]] | None:
        """The fast route answering this request, and its path parameters; None: not a fast GET."""
        if scope["type"] == "http" and scope["method"] == "GET":
            path = get_route_path(scope)
            for compiled in self._routes:
                params = compiled.path_params(path)
                if params is not None:
                    return compiled, params
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.fitting(scope)
        if found is None:
            await self.app(scope, receive, send)
            return
        response = await self.answer(*found, Request(scope, receive))
        await response(scope, receive, send)

    @staticmethod
    async def answer(compiled: _Compiled, params: dict[str, Any], request: Request) -> Response:
        """The route's answer (its errors raised, for the exception handlers to render)."""
        scope = request.scope
        # What FastAPI's routing records of the route it picked (the metrics read "route").
        scope["route"], scope["endpoint"], scope["path_params"] = (
            compiled.route,
            compiled.get.endpoint,
            params,
        )
        principal = await admitted_principal(request)
        principal.require(compiled.get.role)
        store = request_store(request)
        version, body = await compiled.get.handler(store, principal.tenant, params)
        return versioned_json(version, if_none_match(request), body)


class _FrontDoor:
    """A fast GET answered as early as the middlewares allow, with the app's error handling.

    It stands inside the innermost middleware that acts on every request (the observability
    middleware: request id, span, metrics, access line). The middlewares between it and the
    router each say, with `leaves_alone(scope)`, whether they would pass a request through
    untouched (an idempotency key is a POST's, a HEAD is answered as a GET, the edge guard
    refuses NUL in a query or an unstorable JSON body, a literal path lacking GET is a 405); a
    fast GET all of them leave alone is answered here. Skipped with them: FastAPI's exception
    middleware, whose handlers render the errors here as they would there (an error without a
    handler goes on to the app's 500 handler, as it would), and its exit stack, which only
    dependencies use. Anything else goes on to the middlewares and, past them, to the router's
    dispatcher, which answers a HEAD of a fast route, say.

    Measured: a GET by id went through seven ASGI layers between these two places.
    """

    def __init__(
        self, app: ASGIApp, *, owner: FastAPI, gets: _FastGets, skipped: list[Callable[..., bool]]
    ) -> None:
        self.app = app
        self._owner = owner
        self._gets = gets
        self._skipped = skipped

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._gets.fitting(scope)
        if found is not None:
            for leaves_alone in self._skipped:
                if not leaves_alone(scope):
                    found = None
                    break
        if found is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self._gets.answer(*found, request)
        except Exception as exc:
            # Rendered by FastAPI's exception middleware, given the error: the same handlers, in
            # the same order, as for the error raised behind it; one it has none for re-raised.
            await self._exception_middleware(exc)(scope, receive, send)
            return
        await response(scope, receive, send)

    def _exception_middleware(self, exc: Exception) -> ASGIApp:
        async def raising(scope: Scope, receive: Receive, send: Send) -> None:
            raise exc

        # As FastAPI builds it: every handler but the 500 one (ServerErrorMiddleware's, outside).
        handlers = {
            key: handler
            for key, handler in self._owner.exception_handlers.items()
            if key not in (500, Exception)
        }
        return ExceptionMiddleware(raising, handlers=handlers, debug=self._owner.debug)


def install_fast_gets(app: FastAPI, *gets: FastGet) -> None:
    """Answer these routes' GETs before FastAPI's routing (after every router is included and
    every middleware added)."""
    if app.middleware_stack is not None:
        raise RuntimeError("install fast GETs before the app has started")
    routes = list(_flat_routes(app.router.routes))
    dispatcher = _FastGets(app.router.middleware_stack, [_compile(get, routes) for get in gets])
    app.router.middleware_stack = dispatcher
    # Right inside the innermost middleware that does not say which requests it leaves alone.
    middlewares = app.user_middleware
    door = len(middlewares)
    while door > 0 and hasattr(middlewares[door - 1].cls, "leaves_alone"):
        door -= 1
    skipped = [middleware.cls.leaves_alone for middleware in middlewares[door:]]  # type: ignore[attr-defined]
    middlewares.insert(door, Middleware(_FrontDoor, owner=app, gets=dispatcher, skipped=skipped))


def _flat_routes(routes: list[Any]) -> Iterator[Any]:
    """Every route in FastAPI's matching order, included routers' routes in their place."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            yield from contexts()
        else:
            yield route


def _compile(get: FastGet, routes: list[Any]) -> _Compiled:
    index = next((i for i, route in enumerate(routes) if _is_get_of(route, get.endpoint)), None)
    if index is None:
        raise ValueError(f"no GET route has the endpoint {get.endpoint.__qualname__}")
    entry = routes[index]
    earlier = [route for route in routes[:index] if _may_answer_get(route)]
    template = entry.path_format
    literal = {
        route.path_format
        for route in earlier
        if not _templated(route) and entry.path_regex.match(route.path_format)
    }
    patterns = tuple(
        route.path_regex for route in earlier if _templated(route) and _may_overlap(route, template)
    )
    return _Compiled(
        get=get,
        route=getattr(entry, "original_route", entry),
        regex=entry.path_regex,
        convertors=entry.param_convertors,
        literal_shadows=frozenset(literal),
        pattern_shadows=patterns,
    )


def _is_get_of(route: Any, endpoint: Callable[..., Any]) -> bool:
    return getattr(route, "endpoint", None) is endpoint and "GET" in (route.methods or ())


def _may_answer_get(route: Any) -> bool:
    if getattr(route, "path_regex", None) is None:
        raise ValueError(f"cannot tell which paths {route!r} takes; install no fast GET after it")
    methods = getattr(route, "methods", None)
    return methods is None or "GET" in methods  # a mount (no methods) takes every method


def _templated(route: Any) -> bool:
    return isinstance(route, Mount) or "{" in route.path_format


def _may_overlap(route: Any, template: str) -> bool:
    """False only when no path fits both (same segment count, a literal segment differs)."""
    earlier: str = route.path_format
    if isinstance(route, Mount) or ":path}" in earlier or ":path}" in template:
        return True
    ours, theirs = template.split("/"), earlier.split("/")
    if len(ours) != len(theirs):
        return False
    return all("{" in a or "{" in b or a == b for a, b in zip(ours, theirs, strict=True))
