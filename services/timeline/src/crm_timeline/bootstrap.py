"""The composition root: builds the store, the relay, the consumers and the HTTP app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from crm_shared.runtime import BackgroundTasks, open_store
from crm_shared.service import new_service_app, start_messaging
from crm_shared.topics import ACTIVITIES, CONTACT_EVENTS, GDPR_EVENTS
from crm_timeline.adapters.repository import COLLECTION_SPECS
from crm_timeline.entrypoints.consumers import erasure_handler, timeline_event_handler
from crm_timeline.entrypoints.http import router
from crm_timeline.settings import TimelineSettings


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
        start_messaging(
            tasks,
            store,
            settings,
            service="timeline",
            consumers=[
                ("crm-timeline", [CONTACT_EVENTS.name, ACTIVITIES.name], app.state.event_handler),
                ("crm-timeline-erasure", [GDPR_EVENTS.name], app.state.erasure_handler),
            ],
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
