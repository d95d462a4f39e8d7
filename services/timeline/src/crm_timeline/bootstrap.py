"""The composition root: builds the store, the relay, the consumers and the HTTP app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from crm_shared.auth import ApiKeyAuthenticator, parse_api_keys
from crm_shared.http import broker_check, install_health_routes, install_problem_handlers
from crm_shared.messaging.consumer import EventConsumer
from crm_shared.messaging.kafka import ensure_topics, new_producer
from crm_shared.messaging.relay import OutboxRelay
from crm_shared.runtime import BackgroundTasks, open_store
from crm_shared.storage import DocumentStore
from crm_shared.topics import ACTIVITIES, CONTACT_EVENTS, GDPR_EVENTS
from crm_timeline.adapters.repository import COLLECTION_SPECS
from crm_timeline.entrypoints.consumers import erasure_handler, timeline_event_handler
from crm_timeline.entrypoints.http import router
from crm_timeline.settings import TimelineSettings


def _start_background(tasks: BackgroundTasks, store: DocumentStore, app: FastAPI) -> None:
    settings: TimelineSettings = app.state.settings
    relay = OutboxRelay(
        store,
        lambda: new_producer(settings, client_id="timeline-relay"),
        on_reconnect=lambda: ensure_topics(settings.kafka_bootstrap_servers),
    )
    tasks.start("timeline-outbox-relay", relay.run())
    events = EventConsumer(
        settings,
        group="crm-timeline",
        topics=[CONTACT_EVENTS.name, ACTIVITIES.name],
        handler=app.state.event_handler,
    )
    tasks.start("timeline-events-consumer", events.run())
    erasure = EventConsumer(
        settings,
        group="crm-timeline-erasure",
        topics=[GDPR_EVENTS.name],
        handler=app.state.erasure_handler,
    )
    tasks.start("timeline-erasure-consumer", erasure.run())


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: TimelineSettings = app.state.settings
    store = open_store(settings, service="timeline")
    await store.start(COLLECTION_SPECS)
    app.state.store = store
    app.state.event_handler = timeline_event_handler(store)
    app.state.erasure_handler = erasure_handler(store)
    tasks = BackgroundTasks()
    try:
        # The relay and the consumers retry in the background: HTTP serves with the broker down.
        _start_background(tasks, store, app)
        yield
    finally:
        await tasks.stop()
        await store.close()


def create_app(settings: TimelineSettings | None = None) -> FastAPI:
    """Build the timeline app; the store and the Kafka loops start with its lifespan."""
    settings = settings or TimelineSettings()
    app = FastAPI(
        title="CRM timeline",
        version="1.0.0",
        description="Each contact's activity timeline: lifecycle changes, activities and notes.",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.authenticator = ApiKeyAuthenticator(parse_api_keys(settings.api_keys_spec))
    install_problem_handlers(app)

    async def store_ping() -> None:
        store: DocumentStore = app.state.store
        await store.ping()

    install_health_routes(
        app, {"store": store_ping, "broker": broker_check(settings.kafka_bootstrap_servers)}
    )
    app.include_router(router)
    return app
