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
    GdprConsumers,
)
from crm_gdpr.entrypoints.http import router
from crm_gdpr.settings import GdprSettings
from crm_shared.auth import ApiKeyAuthenticator, parse_api_keys
from crm_shared.http import broker_check, install_health_routes, install_problem_handlers
from crm_shared.messaging.consumer import EventConsumer
from crm_shared.messaging.kafka import ensure_topics, new_producer
from crm_shared.messaging.relay import OutboxRelay
from crm_shared.runtime import BackgroundTasks, open_store


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
        http = httpx.AsyncClient(transport=http_transport, timeout=settings.gdpr_http_timeout)
        consumers = GdprConsumers(store)
        app.state.store = store
        app.state.http = http
        app.state.consumers = consumers
        tasks = BackgroundTasks()
        tasks.start(
            "gdpr-outbox-relay",
            OutboxRelay(
                store,
                lambda: new_producer(settings, client_id="gdpr-relay"),
                on_reconnect=lambda: ensure_topics(settings.kafka_bootstrap_servers),
            ).run(),
        )
        tasks.start(
            "gdpr-audit-consumer",
            EventConsumer(
                settings, group=AUDIT_GROUP, topics=AUDIT_TOPICS, handler=consumers.handle_audit
            ).run(),
        )
        tasks.start(
            "gdpr-receipts-consumer",
            EventConsumer(
                settings,
                group=RECEIPTS_GROUP,
                topics=RECEIPTS_TOPICS,
                handler=consumers.handle_receipt,
            ).run(),
        )
        try:
            yield
        finally:
            await tasks.stop()
            await http.aclose()
            await store.close()

    app = FastAPI(
        title="CRM gdpr service",
        version="1.0.0",
        description="Consent ledger, data-subject exports, erasure saga and the audit log.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.authenticator = ApiKeyAuthenticator(parse_api_keys(settings.api_keys_spec))

    async def store_ping() -> None:
        await app.state.store.ping()

    install_problem_handlers(app)
    install_health_routes(
        app, {"store": store_ping, "broker": broker_check(settings.kafka_bootstrap_servers)}
    )
    app.include_router(router)
    return app
