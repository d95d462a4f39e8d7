"""The composition root: builds the store, the relay, the consumers and the FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from crm_contacts.adapters.bulk import BULK_SPECS
from crm_contacts.adapters.campaigns import CAMPAIGN_SPECS
from crm_contacts.adapters.importer_client import ImporterExports
from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_contacts.entrypoints.accounts_http import router as accounts_router
from crm_contacts.entrypoints.bulk_http import router as bulk_router
from crm_contacts.entrypoints.campaigns_http import router as campaigns_router
from crm_contacts.entrypoints.consumers import build_handler
from crm_contacts.entrypoints.contact_tags_http import router as contact_tags_router
from crm_contacts.entrypoints.custom_fields_http import router as custom_fields_router
from crm_contacts.entrypoints.http import router
from crm_contacts.entrypoints.purge_loop import run_purge_loop
from crm_contacts.entrypoints.retention_http import router as retention_router
from crm_contacts.entrypoints.search_http import router as search_router
from crm_contacts.entrypoints.tag_rules_http import router as tag_rules_router
from crm_contacts.entrypoints.tags_http import router as tags_router
from crm_contacts.service_layer.bulk_runner import BulkRunner
from crm_contacts.settings import ContactsSettings
from crm_shared.auth import ApiKeyAuthenticator, parse_api_keys
from crm_shared.clock import utcnow
from crm_shared.http import broker_check, install_health_routes, install_problem_handlers
from crm_shared.messaging.consumer import EventConsumer
from crm_shared.messaging.kafka import ensure_topics, new_producer
from crm_shared.messaging.relay import OutboxRelay
from crm_shared.runtime import BackgroundTasks, open_store
from crm_shared.topics import CONTACT_COMMANDS, GDPR_EVENTS

SERVICE = "contacts"


def _start_background(app: FastAPI, settings: ContactsSettings) -> BackgroundTasks:
    store = app.state.store
    tasks = BackgroundTasks()
    relay = OutboxRelay(
        store,
        lambda: new_producer(settings, client_id=f"{SERVICE}-relay"),
        on_reconnect=lambda: ensure_topics(settings.kafka_bootstrap_servers),
    )
    tasks.start("outbox-relay", relay.run())
    for group, topic in (
        ("crm-contacts-commands", CONTACT_COMMANDS.name),
        ("crm-contacts-erasure", GDPR_EVENTS.name),
    ):
        consumer = EventConsumer(
            settings, group=group, topics=[topic], handler=app.state.event_handler
        )
        tasks.start(group, consumer.run())
    tasks.start("contacts-purge", run_purge_loop(store, settings, clock=lambda: app.state.clock()))
    tasks.start("bulk-actions", app.state.bulk_runner.run())
    return tasks


def create_app(
    settings: ContactsSettings | None = None,
    *,
    importer_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the contacts service; the store and background loops start with the lifespan.

    `importer_transport` lets tests hand bulk exports to an in-process importer.
    """
    settings = settings or ContactsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings, service=SERVICE)
        await store.start((*COLLECTION_SPECS, *CAMPAIGN_SPECS, *BULK_SPECS))
        app.state.store = store
        app.state.event_handler = build_handler(store, settings)
        exports = ImporterExports(settings.crm_importer_url, transport=importer_transport)
        app.state.bulk_runner = BulkRunner(store, settings, exports)
        tasks = _start_background(app, settings)
        try:
            yield
        finally:
            await tasks.stop()
            await exports.aclose()
            await store.close()

    app = FastAPI(
        title="CRM contacts",
        version="1.0.0",
        description="Contacts with custom fields and tags; publishes contact lifecycle events.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = utcnow  # what "now" is for retention; tests replace it
    app.state.authenticator = ApiKeyAuthenticator(parse_api_keys(settings.api_keys_spec))
    install_problem_handlers(app)

    async def store_ready() -> None:
        await app.state.store.ping()

    install_health_routes(
        app, {"store": store_ready, "broker": broker_check(settings.kafka_bootstrap_servers)}
    )
    app.include_router(router)
    app.include_router(search_router)
    app.include_router(accounts_router)
    app.include_router(retention_router)
    app.include_router(custom_fields_router)
    app.include_router(tags_router)
    app.include_router(tag_rules_router)
    app.include_router(contact_tags_router)
    app.include_router(campaigns_router)
    app.include_router(bulk_router)
    return app
