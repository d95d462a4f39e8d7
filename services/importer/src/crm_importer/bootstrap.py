"""The composition root: builds the store, files, clients, worker and consumers, and the app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from crm_importer.adapters.collections import COLLECTION_SPECS
from crm_importer.adapters.contacts_client import ContactsClient
from crm_importer.adapters.files import DataFiles
from crm_importer.entrypoints import exports_http, import_jobs_http, import_rows_http, imports_http
from crm_importer.entrypoints.consumers import (
    ERASURE_GROUP,
    ERASURE_TOPICS,
    RESULTS_GROUP,
    RESULTS_TOPICS,
    build_bus,
)
from crm_importer.entrypoints.recovery_loop import run_recovery_loop
from crm_importer.entrypoints.retention_loop import run_retention_loop
from crm_importer.service_layer.dry_runs import DryRunRunner
from crm_importer.service_layer.exports import ExportRunner
from crm_importer.service_layer.reading import ReadingOptions
from crm_importer.service_layer.recovery import recover
from crm_importer.service_layer.worker import ImportWorker
from crm_importer.settings import ImporterSettings
from crm_shared.clock import utcnow
from crm_shared.presence import Presence
from crm_shared.runtime import BackgroundTasks, open_store
from crm_shared.service import ConsumerSpec, new_service_app, start_messaging

log = logging.getLogger(__name__)


def create_app(
    settings: ImporterSettings | None = None,
    *,
    contacts_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the importer app; `contacts_transport` replaces the network to the contacts API."""
    settings = settings or ImporterSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings, service="importer")
        await store.start(COLLECTION_SPECS)
        # This instance owns its exports and arriving uploads: alive as long as it renews this.
        presence = Presence(store, service="importer", ttl=settings.crm_lease_seconds)
        await presence.announce()
        files = DataFiles(settings.importer_data_dir, owner=presence.id)
        files.prepare()
        contacts = ContactsClient(settings.crm_contacts_url, transport=contacts_transport)
        reading = ReadingOptions(
            batch_size=settings.importer_batch_size,
            batch_max_bytes=settings.importer_batch_max_bytes,
            suppression_key=settings.suppression_key,
            default_region=settings.crm_default_region,
        )
        worker = ImportWorker(
            store,
            files,
            reading,
            poll_seconds=settings.importer_worker_poll_seconds,
            results_timeout_seconds=settings.importer_results_timeout_seconds,
            resend_after_seconds=settings.importer_results_resend_seconds,
        )
        exports = ExportRunner(
            store,
            files,
            contacts,
            page_size=settings.importer_export_page_size,
            owner=presence.id,
        )
        dry_runs = DryRunRunner(
            store, files, contacts, reading, on_finished=worker.wake, owner=presence.id
        )
        bus = build_bus(store, files, on_import_ended=worker.wake)
        app.state.store, app.state.files, app.state.worker = store, files, worker
        app.state.exports, app.state.bus = exports, bus
        app.state.dry_runs, app.state.contacts = dry_runs, contacts
        tasks = BackgroundTasks()
        tasks.start("importer-presence", presence.run())
        # Only what instances that are gone left: other replicas may be mid-export or mid-upload.
        await recover(store, files, presence)
        start_messaging(
            tasks,
            store,
            settings,
            service="importer",
            consumers=[
                ConsumerSpec(RESULTS_GROUP, RESULTS_TOPICS, bus),
                ConsumerSpec(ERASURE_GROUP, ERASURE_TOPICS, bus),
            ],
        )
        # And now and then, on one instance at a time: a replica may crash while others run.
        tasks.start_leased(
            "importer-recovery",
            store,
            lambda: run_recovery_loop(
                store,
                files,
                presence,
                interval_seconds=settings.importer_recovery_interval_seconds,
            ),
            ttl=settings.crm_lease_seconds,
        )
        if settings.importer_worker_enabled:
            # One worker at a time across replicas: the holder of the lease.
            tasks.start_leased(
                "import-worker", store, lambda: worker.run(), ttl=settings.crm_lease_seconds
            )
        tasks.start_leased(
            "importer-retention",
            store,
            lambda: run_retention_loop(store, files, settings, clock=utcnow),
            ttl=settings.crm_lease_seconds,
        )
        try:
            yield
        finally:
            await exports.stop()
            await dry_runs.stop()
            await tasks.stop()
            await contacts.aclose()
            await store.close()

    app = new_service_app(
        title="CRM importer",
        description="CSV imports (published to the contacts service in batches) and CSV exports.",
        settings=settings,
        lifespan=lifespan,
    )
    app.include_router(imports_http.router)
    app.include_router(import_jobs_http.router)
    app.include_router(import_rows_http.router)
    app.include_router(exports_http.router)
    return app
