"""Kafka entry points: batch results from the contacts service and erasure requests."""

from __future__ import annotations

from crm_importer.adapters.files import DataFiles
from crm_importer.service_layer.erasure import erase_contact
from crm_importer.service_layer.imports import apply_batch_results
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ErasureRequested, ImportBatchProcessed, parse_event
from crm_shared.messaging.consumer import EventHandler
from crm_shared.storage import DocumentStore

RESULTS_GROUP = "crm-importer-results"
ERASURE_GROUP = "crm-importer-erasure"


def make_handler(store: DocumentStore, files: DataFiles) -> EventHandler:
    """The `handle(envelope)` both consumer groups run; unknown event types are ignored."""

    async def handle(envelope: EventEnvelope) -> None:
        """Dispatch one event to its handler."""
        event = parse_event(envelope)
        if isinstance(event, ImportBatchProcessed):
            await apply_batch_results(
                store, files, event, event_id=envelope.id, tenant=envelope.tenant
            )
        elif isinstance(event, ErasureRequested):
            await erase_contact(
                store,
                files,
                event,
                event_id=envelope.id,
                tenant=envelope.tenant,
                actor=envelope.actor,
            )

    return handle
