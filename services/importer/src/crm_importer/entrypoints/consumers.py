"""Kafka entry points: batch results from the contacts service and erasure requests."""

from __future__ import annotations

from crm_importer.adapters.files import DataFiles
from crm_importer.service_layer.erasure import erase_contact
from crm_importer.service_layer.imports import apply_batch_results
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ErasureRequested, ImportBatchProcessed
from crm_shared.messaging.bus import MessageBus
from crm_shared.storage import DocumentStore
from crm_shared.topics import GDPR_EVENTS, IMPORT_RESULTS

RESULTS_GROUP = "crm-importer-results"
ERASURE_GROUP = "crm-importer-erasure"
RESULTS_TOPICS: tuple[str, ...] = (IMPORT_RESULTS.name,)
ERASURE_TOPICS: tuple[str, ...] = (GDPR_EVENTS.name,)


def build_bus(store: DocumentStore, files: DataFiles) -> MessageBus:
    """The importer's message table, which both consumer groups route by."""

    async def on_batch_processed(event: ImportBatchProcessed, envelope: EventEnvelope) -> None:
        await apply_batch_results(store, files, event, event_id=envelope.id, tenant=envelope.tenant)

    async def on_erasure_requested(event: ErasureRequested, envelope: EventEnvelope) -> None:
        await erase_contact(
            store, files, event, event_id=envelope.id, tenant=envelope.tenant, actor=envelope.actor
        )

    return (
        MessageBus()
        .on(ImportBatchProcessed, on_batch_processed)
        .on(ErasureRequested, on_erasure_requested)
    )
