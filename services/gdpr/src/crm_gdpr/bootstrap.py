"""The composition root: builds the store, HTTP client, relay and consumers when the app starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from crm_gdpr.adapters.repositories import COLLECTION_SPECS
from crm_gdpr.entrypoints.consumers import (
    AUDIT_GROUP,
    AUDIT_TOPICS,
    RECEIPTS_GROUP,
    RECEIPTS_TOPICS,
    build_buses,
)
from crm_gdpr.entrypoints.deadline_loop import run_deadline_loop
from crm_gdpr.entrypoints.http import router
from crm_gdpr.entrypoints.retention_loop import run_retention_loop
from crm_gdpr.settings import GdprSettings
from crm_shared.clock import utcnow
from crm_shared.observability.tracing import TRACE_HOOKS
from crm_shared.runtime import BackgroundTasks, open_store
from crm_shared.service import ConsumerSpec, new_service_app, start_messaging


def create_app(
    settings: GdprSettings | None = None,
    *,
    http_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The gdpr service app; `http_transport` replaces the network for calls to other services."""
    settings = settings or GdprSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings, service="gdpr")
        await store.start(COLLECTION_SPECS)
        http = httpx.AsyncClient(
            transport=http_transport, timeout=settings.gdpr_http_timeout, event_hooks=TRACE_HOOKS
        )
        buses = build_buses(store)
        app.state.store = store
        app.state.http = http
        app.state.buses = buses
        tasks = BackgroundTasks()
        start_messaging(
            tasks,
            store,
            settings,
            service="gdpr",
            consumers=[
                ConsumerSpec(AUDIT_GROUP, AUDIT_TOPICS, buses.audit),
                ConsumerSpec(RECEIPTS_GROUP, RECEIPTS_TOPICS, buses.receipts),
            ],
        )
        # One replica at a time checks deadlines and resends commands (the lease's holder).
        tasks.start_leased(
            "gdpr-erasure-deadlines",
            store,
            lambda: run_deadline_loop(store, settings),
            ttl=settings.crm_lease_seconds,
        )
        # One replica at a time deletes expired bundles (each deletion is one audit entry).
        tasks.start_leased(
            "gdpr-bundle-retention",
            store,
            lambda: run_retention_loop(store, settings, clock=utcnow),
            ttl=settings.crm_lease_seconds,
        )
        try:
            yield
        finally:
            await tasks.stop()
            await http.aclose()
            await store.close()

    app = new_service_app(
        title="CRM gdpr service",
        description="Consent ledger, data-subject exports, erasure saga and the audit log.",
        settings=settings,
        lifespan=lifespan,
    )
    app.include_router(router)
    return app
