"""The importer's erasure handler on the in-memory store: rows deleted, one receipt, idempotent;
a poll of requests reads each finished export's id list once."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pytest

from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import Exports, ImportErrors
from crm_importer.domain.exports import ExportJob
from crm_importer.service_layer.erasure import erase_contacts
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ErasureReceipt, ErasureRequested
from crm_shared.storage.memory import MemoryStore

TENANT = "acme"
REQUEST = ErasureRequested(erasure_id="er-1", contact_id="c-1", identifier_hashes=["h-ada"])


def _delivered(
    request: ErasureRequested, event_id: str = "ev-1"
) -> tuple[ErasureRequested, EventEnvelope]:
    envelope = EventEnvelope.wrap(
        request, source="crm/gdpr", tenant=TENANT, subject=request.contact_id
    )
    return request, envelope.model_copy(update={"id": event_id})


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

    await erase_contacts(store, files, [_delivered(REQUEST)])

    assert await _failed_rows(store) == [3]
    [receipt] = await _receipts(store)
    assert receipt.data["status"] == "completed"
    assert receipt.data["erasure_id"] == "er-1"


async def test_a_redelivered_erasure_request_sends_no_second_receipt(
    store: MemoryStore, files: DataFiles
) -> None:
    await erase_contacts(store, files, [_delivered(REQUEST)])
    await erase_contacts(store, files, [_delivered(REQUEST)])

    assert len(await _receipts(store)) == 1


def _export(files: DataFiles, export_id: str, contact_ids: list[str]) -> None:
    writer = files.new_export(export_id, ["name"])
    for contact_id in contact_ids:
        writer.write(contact_id, ["someone"])
    writer.commit()


async def _completed_exports(store: MemoryStore, files: DataFiles, ids: list[str]) -> None:
    async with store.transaction() as session:
        for export_id in ids:
            export = ExportJob(
                id=export_id, tenant=TENANT, fields=["name"], created_at="2025-01-01T00:00:00Z"
            )
            export.complete(1, "2025-01-01T00:00:01Z")
            await Exports(session).add(export)


async def test_a_poll_of_requests_reads_each_export_once_and_removes_those_naming_one(
    store: MemoryStore, files: DataFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    _export(files, "e-with", ["c-0", "c-7", "c-other"])
    _export(files, "e-without", ["c-other"])
    await _completed_exports(store, files, ["e-with", "e-without"])
    reads: list[str] = []
    read = files.contacts_in_export

    def counted(export_id: str, contact_ids: Collection[str]) -> set[str]:
        reads.append(export_id)
        return read(export_id, contact_ids)

    monkeypatch.setattr(files, "contacts_in_export", counted)
    poll = [
        _delivered(ErasureRequested(erasure_id="er-1", contact_id=f"c-{n}"), f"ev-{n}")
        for n in range(10)
    ]

    await erase_contacts(store, files, poll)
    await erase_contacts(store, files, poll)  # redelivered: nothing read, nothing sent again

    assert sorted(reads) == ["e-with", "e-without"]
    assert not files.export_exists("e-with") and files.export_exists("e-without")
    async with store.reader() as session:
        statuses = {
            e: (await Exports(session).get(tenant=TENANT, export_id=e)).status  # type: ignore[union-attr]
            for e in ("e-with", "e-without")
        }
    assert statuses == {"e-with": "expired", "e-without": "completed"}
    receipts = await _receipts(store)
    assert sorted(r.data["contact_id"] for r in receipts) == sorted(f"c-{n}" for n in range(10))
    details = {r.data["contact_id"]: r.data["detail"] for r in receipts}
    assert details["c-7"].startswith("deleted 1 export file(s)")
    assert details["c-3"].startswith("deleted 0 export file(s)")
