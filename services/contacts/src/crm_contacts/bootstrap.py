"""The composition root: builds the store, the message bus, the background loops and the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from crm_contacts.adapters.bulk import BULK_SPECS
from crm_contacts.adapters.campaigns import CAMPAIGN_SPECS
from crm_contacts.adapters.contact_state import ContactStateStore
from crm_contacts.adapters.forms import FORM_SPECS
from crm_contacts.adapters.importer_client import ImporterExports
from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_contacts.adapters.rewrite_jobs import JOB_SPECS
from crm_contacts.entrypoints.accounts_http import router as accounts_router
from crm_contacts.entrypoints.backfill_http import router as backfill_router
from crm_contacts.entrypoints.backfill_loop import run_backfill_loop
from crm_contacts.entrypoints.bulk_http import router as bulk_router
from crm_contacts.entrypoints.campaigns_http import router as campaigns_router
from crm_contacts.entrypoints.consents_http import router as consents_router
from crm_contacts.entrypoints.consumers import (
    COMMANDS_GROUP,
    COMMANDS_TOPICS,
    ERASURE_GROUP,
    ERASURE_TOPICS,
    IMPORT_CONTROL_GROUP,
    IMPORT_CONTROL_TOPICS,
    SOURCES_GROUP,
    SOURCES_TOPICS,
    build_bus,
)
from crm_contacts.entrypoints.contact_tags_http import router as contact_tags_router
from crm_contacts.entrypoints.custom_fields_http import router as custom_fields_router
from crm_contacts.entrypoints.duplicates_http import router as duplicates_router
from crm_contacts.entrypoints.forms_http import router as forms_router
from crm_contacts.entrypoints.http import FAST_GET_CONTACT, router
from crm_contacts.entrypoints.import_lookup_http import router as import_lookup_router
from crm_contacts.entrypoints.job_loops import BulkRunner, rewrite_job_runner
from crm_contacts.entrypoints.jobs_http import router as jobs_router
from crm_contacts.entrypoints.match_loop import run_match_loop
from crm_contacts.entrypoints.merges_http import router as merges_router
from crm_contacts.entrypoints.privacy_http import router as privacy_router
from crm_contacts.entrypoints.purge_loop import run_purge_loop
from crm_contacts.entrypoints.retention_http import router as retention_router
from crm_contacts.entrypoints.search_http import router as search_router
from crm_contacts.entrypoints.sources_http import router as sources_router
from crm_contacts.entrypoints.stream_http import router as stream_router
from crm_contacts.entrypoints.tag_rules_http import router as tag_rules_router
from crm_contacts.entrypoints.tags_http import router as tags_router
from crm_contacts.service_layer.duplicate_scan import DuplicateScans
from crm_contacts.settings import ContactsSettings
from crm_shared.clock import utcnow
from crm_shared.fast_get import install_fast_gets
from crm_shared.rate_limit import Limit, RateLimiter
from crm_shared.runtime import BackgroundTasks, open_store
from crm_shared.service import ConsumerSpec, new_service_app, start_messaging

SERVICE = "contacts"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: ContactsSettings = app.state.settings
    # Every transaction also publishes the state of the contacts it changed (the state topic).
    store = ContactStateStore(open_store(settings, service=SERVICE))
    await store.start((*COLLECTION_SPECS, *CAMPAIGN_SPECS, *BULK_SPECS, *FORM_SPECS, *JOB_SPECS))
    bus = build_bus(store, settings)
    app.state.store, app.state.bus = store, bus
    exports = ImporterExports(settings.crm_importer_url, transport=app.state.importer_transport)
    app.state.bulk_runner = BulkRunner(store, settings, exports)
    app.state.job_runner = rewrite_job_runner(store, settings)
    tasks = BackgroundTasks()
    try:
        # The relay and the consumers retry in the background: HTTP serves with the broker down.
        start_messaging(
            tasks,
            store,
            settings,
            service=SERVICE,
            consumers=[
                ConsumerSpec(COMMANDS_GROUP, COMMANDS_TOPICS, bus),
                ConsumerSpec(ERASURE_GROUP, ERASURE_TOPICS, bus),
                ConsumerSpec(SOURCES_GROUP, SOURCES_TOPICS, bus),
                ConsumerSpec(IMPORT_CONTROL_GROUP, IMPORT_CONTROL_TOPICS, bus),
            ],
        )
        # Each loop runs on one replica at a time, the holder of its lease in the store.
        # The clock is read at each run: tests replace app.state.clock.
        ttl = settings.crm_lease_seconds
        tasks.start_leased(
            f"{SERVICE}-purge",
            store,
            lambda: run_purge_loop(store, settings, clock=lambda: app.state.clock()),
            ttl=ttl,
        )
        tasks.start_leased(
            f"{SERVICE}-duplicate-pairs",
            store,
            lambda: run_match_loop(
                store,
                idle_seconds=settings.contacts_match_interval_seconds,
                import_quiet=settings.contacts_import_rematch_quiet_seconds,
            ),
            ttl=ttl,
        )
        tasks.start_leased(
            f"{SERVICE}-bulk-actions", store, lambda: app.state.bulk_runner.run(), ttl=ttl
        )
        tasks.start_leased(
            f"{SERVICE}-rewrite-jobs", store, lambda: app.state.job_runner.run(), ttl=ttl
        )
        # Contacts stored by older code get the current derived fields (keys, folded text).
        tasks.start_leased(
            f"{SERVICE}-derived-backfill", store, lambda: run_backfill_loop(store), ttl=ttl
        )
        yield
    finally:
        await app.state.duplicate_scans.stop()
        await tasks.stop()
        await exports.aclose()
        await store.close()


def create_app(
    settings: ContactsSettings | None = None,
    *,
    importer_transport: httpx.AsyncBaseTransport | None = None,
    fast_reads: bool = True,
) -> FastAPI:
    """Build the contacts service; the store and background loops start with the lifespan.

    `importer_transport` lets tests hand bulk exports to an in-process importer. `fast_reads`
    False leaves `GET /v1/contacts/{id}` to its FastAPI route alone: the reference its fast
    endpoint (crm_shared.fast_get) is tested against.
    """
    app = new_service_app(
        title="CRM contacts",
        description="Contacts with custom fields and tags; publishes contact lifecycle events.",
        settings=settings or ContactsSettings(),
        lifespan=_lifespan,
    )
    app.state.clock = utcnow  # what "now" is for retention; tests replace it
    app.state.duplicate_scans = DuplicateScans(ttl=app.state.settings.crm_lease_seconds)
    app.state.importer_transport = importer_transport
    # Public form submissions are limited per form and client address (they carry no API key).
    app.state.form_limiter = RateLimiter(Limit.parse(app.state.settings.contacts_form_rate_limit))
    for part in (
        stream_router,  # before `router`: its /{contact_id} would take "stream" for an id
        # Early: FastAPI tries each router's routes in turn, twice for the one that matches, and
        # a GET by id spent a tenth of its Python calls on the two routers that stood before it
        # (their paths are not /{contact_id}'s shape, so nothing else changes).
        router,
        import_lookup_router,
        sources_router,
        search_router,
        accounts_router,
        retention_router,
        custom_fields_router,
        tags_router,
        tag_rules_router,
        duplicates_router,
        merges_router,
        contact_tags_router,
        campaigns_router,
        consents_router,
        bulk_router,
        jobs_router,
        privacy_router,
        forms_router,
        backfill_router,
    ):
        app.include_router(part)
    if fast_reads:
        install_fast_gets(app, FAST_GET_CONTACT)
    return app
