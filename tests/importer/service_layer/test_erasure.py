"""The importer's erasure handler on the in-memory store: rows deleted, one receipt, idempotent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm_importer.adapters.collections import COLLECTION_SPECS
from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import ImportErrors
from crm_importer.service_layer.erasure import erase_contact
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ErasureReceipt, ErasureRequested
from crm_shared.storage.memory import MemoryStore

TENANT = "acme"
REQUEST = ErasureRequested(erasure_id="er-1", contact_id="c-1", identifier_hashes=["h-ada"])


@pytest.fixture
async def store() -> AsyncIterator[MemoryStore]:
    memory = MemoryStore()
    await memory.start(COLLECTION_SPECS)
    yield memory
    await memory.close()


@pytest.fixture
def files(tmp_path: Path) -> DataFiles:
    data = DataFiles(tmp_path)
    data.prepare()
    return data


async def _failed_rows(store: MemoryStore) -> list[int]:
    async with store.reader() as session:
        rows = await ImportErrors(session).page(tenant=TENANT, job_id="job-1", limit=10, after=None)
    return [r["row_number"] for r in rows]


async def _receipts(store: MemoryStore) -> list[EventEnvelope]:
    found = [EventEnvelope.from_bytes(p.value) for p in await store.pending_events(100)]
    return [e for e in found if e.type == ErasureReceipt.event_type]


async def test_erasure_deletes_the_persons_failed_rows_and_records_one_receipt(
    store: MemoryStore, files: DataFiles
) -> None:
    async with store.transaction() as session:
        await ImportErrors(session).add_many(
            tenant=TENANT,
            job_id="job-1",
            errors=[
                {"row_number": 2, "reason": "bad phone", "identifier_hashes": ["h-ada"]},
                {"row_number": 3, "reason": "bad phone", "identifier_hashes": ["h-bob"]},
            ],
        )

    await erase_contact(store, files, REQUEST, event_id="ev-1", tenant=TENANT, actor=None)

    assert await _failed_rows(store) == [3]
    [receipt] = await _receipts(store)
    assert receipt.data["status"] == "completed"
    assert receipt.data["erasure_id"] == "er-1"


async def test_a_redelivered_erasure_request_sends_no_second_receipt(
    store: MemoryStore, files: DataFiles
) -> None:
    await erase_contact(store, files, REQUEST, event_id="ev-1", tenant=TENANT, actor=None)
    await erase_contact(store, files, REQUEST, event_id="ev-1", tenant=TENANT, actor=None)

    assert len(await _receipts(store)) == 1
