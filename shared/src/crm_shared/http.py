"""HTTP plumbing shared by the services: problem+json errors, authentication, health checks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from crm_shared.auth import ApiKeyAuthenticator, Principal, Role
from crm_shared.edge import EdgeGuard
from crm_shared.head import HeadAsGet, with_head
from crm_shared.idempotent_work import SCOPE_KEY as WORK_SCOPE_KEY
from crm_shared.idempotent_work import RequestScopedStore, RequestWork
from crm_shared.literal_paths import LiteralPathMethods, documented_methods
from crm_shared.messaging.bus import MessageBus
from crm_shared.observability.context import set_tenant
from crm_shared.openapi_problems import install_problem_openapi
from crm_shared.problems import ProblemError
from crm_shared.rate_limit_store import StoreRateLimiter
from crm_shared.storage import ConcurrentWriteError, DocumentStore

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
ReadinessCheck = Callable[[], Awaitable[None]]


def problem_response(error: ProblemError, request: Request) -> JSONResponse:
    """Render a domain error as problem+json with its status."""
    return JSONResponse(
        error.to_problem(instance=request.url.path),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=error.response_headers() or None,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # The offending input is left out on purpose: it may be personal data.
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """The methods of the request's path: its own OpenAPI path item's, else the matching routes'.

    `/v1/contacts/purge` also fits `/v1/contacts/{contact_id}`, but the OpenAPI document (and a
    client reading it) takes a literal path as a resource of its own: only its methods are allowed.
    """
    documented = documented_methods(request.app.openapi(), request.scope["path"])
    if documented:
        return with_head(documented)
    routes = request.app.router.routes
    # HEAD wherever GET (crm_shared.head answers it as the GET; the routes declare only GET).
    return with_head(
        [
            method
            for method in _METHODS
            if any(
                route.matches({**request.scope, "method": method})[0] is Match.FULL
                for route in routes
            )
        ]
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error as RFC 9457 problem+json; never leak a stack trace.

    Also checks the methods of literal paths before routing (crm_shared.literal_paths), installs
    the edge guard: NUL in query strings and JSON bodies no store can hold (lone
    surrogates, integers beyond 64 bits, deep nesting) are a 422 naming the field; and declares
    the problem answers of every route in the OpenAPI document; and answers HEAD wherever GET is
    answered (crm_shared.head).
    """
    # Innermost of the middlewares: each of them sees a HEAD as a HEAD, the routes see a GET.
    app.add_middleware(HeadAsGet)
    app.add_middleware(EdgeGuard)
    # Outside the edge guard: a method the path lacks is a 405 whatever the body holds.
    app.add_middleware(LiteralPathMethods)
    install_problem_openapi(app)

    @app.exception_handler(ProblemError)
    async def _domain_error(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        malformed = any(e["type"] == "json_invalid" for e in errors)
        status = 400 if malformed else 422
        title = "Malformed JSON" if malformed else "Invalid request"
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
        slug = "malformed-json" if malformed else "invalid-request"
        body = {
            "type": f"https://crm.example/problems/{slug}",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": request.url.path,
            "errors": errors,
        }
        return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)

    @app.exception_handler(ConcurrentWriteError)
    async def _write_conflict(request: Request, exc: ConcurrentWriteError) -> JSONResponse:
        body = {
            "type": "https://crm.example/problems/concurrent-write",
            "title": "Conflict",
            "status": 409,
            "detail": "another change to the same data committed first; retry the request",
            "instance": request.url.path,
        }
        return JSONResponse(body, status_code=409, media_type=PROBLEM_JSON)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = {
            "type": "about:blank",
            "title": str(exc.detail) if exc.status_code != 404 else "Not Found",
            "status": exc.status_code,
            "detail": str(exc.detail),
            "instance": request.url.path,
        }
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # RFC 9110 section 15.5.6: name every method of the path (Starlette names only the
            # first route's, though GET and POST of one path may be two routes).
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return JSONResponse(
            body, status_code=exc.status_code, media_type=PROBLEM_JSON, headers=headers or None
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Runs outside the request's log context: name the request id explicitly.
        request_id = str(getattr(request.state, "request_id", ""))
        log.exception(
            "unhandled error on %s %s",
            request.method,
            request.url.path,
            extra={"request_id": request_id} if request_id else None,
        )
        body = {
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": "an unexpected error occurred; it has been logged",
            "instance": request.url.path,
        }
        headers = {"X-Request-ID": request_id} if request_id else None
        return JSONResponse(body, status_code=500, media_type=PROBLEM_JSON, headers=headers)


# Declared for the OpenAPI document only (the "Authorize" button of /docs); the key itself is
# checked by the service's authenticator, which gives a problem+json 401 for anything wrong.
_bearer = HTTPBearer(auto_error=False, description="An API key from CRM_API_KEYS")


Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]
# Where a request's caller is kept once admitted: whichever dependencies ask (a role's, the
# idempotency guard's), the key is checked and the rate limit taken once per request.
_PRINCIPAL_SCOPE_KEY = "crm.principal"


async def admitted_principal(request: Request) -> Principal:
    """The request's caller: authenticated (401), then within its rate limit (429).

    Once per request whoever asks (FastAPI's dependencies, crm_shared.fast_get's endpoints).
    """
    known: Principal | None = request.scope.get(_PRINCIPAL_SCOPE_KEY)
    if known is not None:
        return known
    authenticator: ApiKeyAuthenticator = request.app.state.authenticator
    header = _authorization(request.scope)
    # An API key is answered on the loop: a thread hop per request cost more than the check.
    principal = authenticator.authenticate_key(header)
    if principal is None:
        # A JWT, in a thread: its issuer's keys may have to be fetched.
        principal = await run_in_threadpool(authenticator.authenticate, header)
    set_tenant(principal.tenant)  # the request's log lines name its tenant from here on
    # Async: the key's bucket lives in the store, shared by every replica.
    limiter: StoreRateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        await limiter.check(principal)
    request.scope[_PRINCIPAL_SCOPE_KEY] = principal
    return principal


def _authorization(scope: Scope) -> str | None:
    """The request's first Authorization field line, as `request.headers.get` gives it.

    Read off the scope (ASGI gives names lowercased): building the request's Headers for it
    cost more than the key's check.
    """
    for name, value in scope["headers"]:
        if name == b"authorization":
            return str(value.decode("latin-1"))
    return None


async def _principal(request: Request, _credentials: Credentials) -> Principal:
    return await admitted_principal(request)


# Any authenticated caller, whatever its role (401 without a valid key).
CurrentPrincipal = Annotated[Principal, Depends(_principal)]


def require_role(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates the caller (401) and checks it holds `role` (403)."""

    # Async, as every dependency here: FastAPI runs a plain function in a thread, a hop that
    # cost more than the work (a GET by id took three). One level, not a chain of dependencies
    # (role on principal on authentication): FastAPI's resolving of each level cost more than
    # what it ran.
    async def dependency(request: Request, _credentials: Credentials) -> Principal:
        principal = await admitted_principal(request)
        principal.require(role)
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency


# What a route declares to be called by a viewer, an editor or an admin (roles imply lower ones).
ViewerAuth = Annotated[Principal, Depends(require_role("viewer"))]
EditorAuth = Annotated[Principal, Depends(require_role("editor"))]
AdminAuth = Annotated[Principal, Depends(require_role("admin"))]


def request_store(request: Request) -> DocumentStore:
    """The store a request works on: the app's, or a keyed POST's request-scoped one."""
    store: DocumentStore = request.app.state.store
    work: RequestWork | None = request.scope.get(WORK_SCOPE_KEY)
    if work is None:
        return store
    # A keyed POST: its write transaction commits with its answer (crm_shared.idempotent_work).
    return RequestScopedStore(store, work)


async def _store(request: Request) -> DocumentStore:
    return request_store(request)


# The store the app's lifespan opened (every service's composition root sets app.state.store).
StoreDep = Annotated[DocumentStore, Depends(_store)]


@dataclass(frozen=True, slots=True)
class CallerWithStore:
    """An admitted caller holding the route's role, and the store its request works on."""

    principal: Principal
    store: DocumentStore


class _RoleWithStore(HTTPBearer):
    """`require_role(role)` and the store in one dependency, for the routes called most.

    FastAPI resolves every dependency of a route on every request, and a GET by id spent more
    there than in its own work. This one is also the bearer scheme itself (the same name and
    description as `_bearer`, so the OpenAPI document is the same): with no sub-dependency for
    the scheme and none for the store, one dependency is resolved where there were three (95
    Python calls of a GET's ~1,200 fewer).
    """

    def __init__(self, role: Role) -> None:
        super().__init__(
            scheme_name=_bearer.scheme_name,
            description=_bearer.model.description,
            auto_error=False,
        )
        self._role = role

    async def __call__(self, request: Request) -> CallerWithStore:  # type: ignore[override]
        """The admitted caller (401, 429), holding the role (403), and the request's store."""
        principal = await admitted_principal(request)
        principal.require(self._role)
        return CallerWithStore(principal, request_store(request))


ViewerWithStore = Annotated[CallerWithStore, Depends(_RoleWithStore("viewer"))]


async def _bus(request: Request) -> MessageBus:
    bus: MessageBus = request.app.state.bus
    return bus


# The bus the app's lifespan built: a route doing what a consumer does hands it its message.
BusDep = Annotated[MessageBus, Depends(_bus)]


_READINESS_BODY: dict[str, Any] = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": ["ready", "not ready"]},
                "checks": {"type": "object", "additionalProperties": {"type": "string"}},
                "down": {"type": "array", "items": {"type": "string"}},
            },
        }
    }
}


def install_health_routes(app: FastAPI, checks: dict[str, ReadinessCheck]) -> None:
    """`/healthz` says the process is up; `/readyz` says the store and the broker answer."""

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        responses={503: {"description": "A dependency is down", "content": _READINESS_BODY}},
    )
    async def readyz() -> JSONResponse:
        # Concurrently, each bounded: the probe answers within READY_CHECK_SECONDS whatever hangs.
        names = list(checks)
        outcomes = await asyncio.gather(
            *(_run_check(checks[name]) for name in names), return_exceptions=False
        )
        results = dict(zip(names, outcomes, strict=True))
        down = [name for name, outcome in results.items() if outcome != "ok"]
        return JSONResponse(
            {"status": "not ready" if down else "ready", "checks": results, "down": down},
            status_code=503 if down else 200,
        )


READY_CHECK_SECONDS = 2.0


async def _run_check(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check(), timeout=READY_CHECK_SECONDS)
    except TimeoutError:
        return f"unavailable: no answer within {READY_CHECK_SECONDS:g}s"
    except Exception as exc:
        return f"unavailable: {type(exc).__name__}"
    return "ok"


def broker_check(bootstrap_servers: str) -> ReadinessCheck:
    """A readiness check that opens a TCP connection to the first reachable bootstrap server."""

    async def check() -> None:
        last: Exception | None = None
        for server in bootstrap_servers.split(","):
            host, _, port = server.strip().rpartition(":")
            try:
                _, writer = await asyncio.open_connection(host or "127.0.0.1", int(port))
                writer.close()
                # Bounded: a half-dead broker must not hold a readiness probe or a shutdown.
                with contextlib.suppress(OSError, TimeoutError):
                    await asyncio.wait_for(writer.wait_closed(), timeout=1.0)
                return
            except OSError as exc:
                last = exc
        raise ConnectionError(f"no bootstrap server reachable: {last}")

    return check
