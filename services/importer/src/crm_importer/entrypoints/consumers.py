"""Kafka entry points: batch results from the contacts service and erasure requests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from crm_importer.adapters.files import DataFiles
from crm_importer.service_layer.erasure import erase_contacts
from crm_importer.service_layer.imports import apply_batch_results
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ErasureRequested, ImportBatchProcessed
from crm_shared.messaging.bus import MessageBus
from crm_shared.storage import DocumentStore
from crm_shared.wiring import IMPORTER

RESULTS_GROUP = "crm-importer-results"
ERASURE_GROUP = "crm-importer-erasure"
# Declared in crm_shared.wiring, which the AsyncAPI document is generated from.
RESULTS_TOPICS = IMPORTER.topics_of(RESULTS_GROUP)
ERASURE_TOPICS = IMPORTER.topics_of(ERASURE_GROUP)


def build_bus(
    store: DocumentStore, files: DataFiles, *, on_import_ended: Callable[[], None] | None = None
) -> MessageBus:
    """The importer's message table, which both consumer groups route by; `on_import_ended`
    wakes the worker that copies an ended import's failed rows."""

    async def on_batch_processed(event: ImportBatchProcessed, envelope: EventEnvelope) -> None:
        await apply_batch_results(
            store,
            files,
            event,
            event_id=envelope.id,
            tenant=envelope.tenant,
            on_finished=on_import_ended,
        )

    async def on_erasures_requested(
        items: Sequence[tuple[ErasureRequested, EventEnvelope]],
    ) -> list[object]:
        # A poll of them at once: each finished export's id list is read once, not per record.
        await erase_contacts(store, files, items)
        return [None] * len(items)

    return (
        MessageBus()
        .on(ImportBatchProcessed, on_batch_processed)
        .on_many(ErasureRequested, on_erasures_requested)
    )
