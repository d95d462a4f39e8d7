"""The composition root: builds the store, the message bus, the relay, consumers and the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from crm_shared.messaging.dead_letters import DeadLetterSink
from crm_shared.runtime import BackgroundTasks, open_store
from crm_shared.service import ConsumerSpec, new_service_app, start_messaging
from crm_timeline.adapters.conversations import CONVERSATION_SPECS
from crm_timeline.adapters.repository import COLLECTION_SPECS
from crm_timeline.entrypoints.consumers import (
    ERASURE_GROUP,
    ERASURE_TOPICS,
    EVENTS_GROUP,
    EVENTS_TOPICS,
    build_bus,
)
from crm_timeline.entrypoints.conversation_consumers import (
    CONVERSATIONS_GROUP,
    CONVERSATIONS_TOPICS,
    build_conversations_bus,
)
from crm_timeline.entrypoints.http import router
from crm_timeline.entrypoints.parked_expiry import expire_parked_forever
from crm_timeline.settings import TimelineSettings

# How long the relay lets recorded-activity events gather before publishing them.
RELAY_GATHER_SECONDS = 0.05


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: TimelineSettings = app.state.settings
    store = open_store(settings, service="timeline")
    await store.start((*COLLECTION_SPECS, *CONVERSATION_SPECS))
    bus = build_bus(store, settings)
    conversations = build_conversations_bus(store)
    app.state.store, app.state.bus = store, bus
    app.state.conversations_bus = conversations
    tasks = BackgroundTasks()
    try:
        # The relay and the consumers retry in the background: HTTP serves with the broker down.
        start_messaging(
            tasks,
            store,
            settings,
            service="timeline",
            consumers=[
                ConsumerSpec(EVENTS_GROUP, EVENTS_TOPICS, bus),
                ConsumerSpec(ERASURE_GROUP, ERASURE_TOPICS, bus),
                ConsumerSpec(CONVERSATIONS_GROUP, CONVERSATIONS_TOPICS, conversations),
            ],
            # Activities arrive at up to thousands a second, a poll's worth per transaction:
            # publishing after each one took the store's write lock between every two polls.
            relay_gather_for=RELAY_GATHER_SECONDS,
        )
        tasks.start(
            "timeline-parked-expiry",
            expire_parked_forever(
                store,
                DeadLetterSink(settings, client_id="timeline-parked"),
                every_seconds=settings.timeline_parked_check_seconds,
            ),
        )
        yield
    finally:
        await tasks.stop()
        await store.close()


def create_app(settings: TimelineSettings | None = None) -> FastAPI:
    """Build the timeline app; the store and the Kafka loops start with its lifespan."""
    settings = settings or TimelineSettings()
    app = new_service_app(
        title="CRM timeline",
        description="Each contact's activity timeline: lifecycle changes, activities and notes.",
        settings=settings,
        lifespan=_lifespan,
    )
    app.include_router(router)
    return app
