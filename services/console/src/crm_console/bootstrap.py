"""The console's composition root: settings -> API client, session store, routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from crm_console.adapters.api import ApiError, PlatformApi
from crm_console.adapters.repositories import COLLECTION_SPECS
from crm_console.entrypoints import (
    activity_routes,
    auth_routes,
    bulk_routes,
    contact_routes,
    contacts_routes,
    exports_routes,
    forms_routes,
    imports_routes,
    merge_routes,
    privacy_routes,
    settings_routes,
    suppressions_routes,
)
from crm_console.entrypoints.deps import (
    SESSION_COOKIE,
    Forbidden,
    SignInRequired,
    is_htmx,
    known_session,
    render,
    signin_url,
)
from crm_console.service_layer.sessions import purge_expired
from crm_console.settings import ConsoleSettings
from crm_shared.head import HeadAsGet
from crm_shared.http import install_health_routes
from crm_shared.observability.http_middleware import ObservabilityMiddleware, metrics_endpoint
from crm_shared.runtime import BackgroundTasks, configure_logging, open_store
from crm_shared.storage import DocumentStore

STATIC = Path(__file__).parent / "static"


def create_app(
    settings: ConsoleSettings, *, transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """The console app; `transport` replaces the network in tests."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("console", settings.crm_log_level)
        # httpx logs every URL at INFO, search text included: personal data stays out of logs.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        app.state.api = PlatformApi(
            {
                "contacts": settings.crm_contacts_url,
                "timeline": settings.crm_timeline_url,
                "importer": settings.crm_importer_url,
                "gdpr": settings.crm_gdpr_url,
            },
            timeout=settings.console_upstream_timeout_s,
            transport=transport,
        )
        store = open_store(settings, service="console")
        await store.start(COLLECTION_SPECS)
        app.state.store = store
        tasks = BackgroundTasks()
        # One replica at a time deletes what expired (the holder of the lease).
        tasks.start_leased(
            "console-expiry-purge",
            store,
            lambda: _purge_loop(store, settings.console_purge_interval_s),
            ttl=settings.crm_lease_seconds,
        )
        try:
            yield
        finally:
            await tasks.stop()
            await app.state.api.close()
            await store.close()

    app = FastAPI(title="CRM console", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.settings = settings
    # Like every service: /metrics (no sign-in, like /healthz), request ids, one access line per
    # request naming the route template, never the URL (search text stays out of logs).
    app.get("/metrics", include_in_schema=False)(metrics_endpoint)
    # HEAD wherever GET (crm_shared.head), as every service answers it; inside the access line.
    app.add_middleware(HeadAsGet)
    app.add_middleware(ObservabilityMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        auth_routes,
        contacts_routes,
        contact_routes,
        activity_routes,
        merge_routes,
        bulk_routes,
        imports_routes,
        exports_routes,
        privacy_routes,
        settings_routes,
        forms_routes,
        suppressions_routes,
    ):
        app.include_router(module.router)

    async def store_ready() -> None:
        store: DocumentStore = app.state.store
        await store.ping()

    install_health_routes(app, {"store": store_ready})
    _install_error_pages(app)

    @app.get("/", include_in_schema=False)
    async def home() -> Response:
        return RedirectResponse("/contacts", status_code=303)

    return app


async def _purge_loop(store: DocumentStore, every: float) -> None:
    while True:
        await purge_expired(store)
        await asyncio.sleep(every)


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _signin(request: Request, exc: SignInRequired) -> Response:
        url = signin_url(request) if request.method == "GET" else "/signin"
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": url})
        response = RedirectResponse(url, status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return _error_page(request, 403, "Not allowed", exc.message)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        status = exc.status if exc.status < 500 else 502
        titles = {404: "Not found", 410: "Gone", 403: "Not allowed", 401: "Signed out"}
        return _error_page(request, status, titles.get(exc.status, "Request failed"), exc.message)


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    session = known_session(request)
    template = "partials/alert.html" if is_htmx(request) else "error.html"
    headers = {"HX-Reswap": "innerHTML", "HX-Retarget": "#messages"} if is_htmx(request) else None
    return render(
        request,
        template,
        {"title": title, "message": message, "kind": "error"},
        session=session,
        status_code=status,
        headers=headers,
    )
