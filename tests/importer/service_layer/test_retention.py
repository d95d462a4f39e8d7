"""Retention: a finished job's failed rows and an export's file go after the set period, each
deletion an audit event; younger jobs keep theirs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import ImportErrors, WorkQueue
from crm_importer.service_layer.retention import RETENTION_ACTOR, delete_expired_job_data
from crm_shared.clock import utcnow
from crm_shared.envelope import EventEnvelope
from crm_shared.events import JobDataDeleted
from crm_shared.storage.memory import MemoryStore
from tests.conftest import EDITOR_KEY, auth
from tests.importer.helpers import upload, wait_for

TENANT = "acme"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
OLD = "2026-04-01T00:00:00.000000Z"  # 61 days before NOW
RECENT = "2026-05-25T00:00:00.000000Z"  # 7 days before NOW


@pytest.fixture
def files(tmp_path: Path) -> DataFiles:
    data = DataFiles(tmp_path)
    data.prepare()
    return data


async def _finished_import(store: MemoryStore, job_id: str, finished_at: str) -> None:
    async with store.transaction() as session:
        await ImportErrors(session).add_many(
            tenant=TENANT,
            job_id=job_id,
            errors=[
                {"row_number": 2, "reason": "row 2: email is not a valid address", "cells": ["x"]},
                {"row_number": 5, "reason": None, "warnings": ["phone is not valid (left out)"]},
            ],
        )
        await WorkQueue(session).add_retention(
            job_kind="import", job_id=job_id, tenant=TENANT, finished_at=finished_at
        )


async def _rows(store: MemoryStore, job_id: str) -> list[int]:
    async with store.reader() as session:
        rows = await ImportErrors(session).page(tenant=TENANT, job_id=job_id, limit=10, after=None)
    return [r["row_number"] for r in rows]


async def _deletions(store: MemoryStore) -> list[EventEnvelope]:
    found = [EventEnvelope.from_bytes(p.value) for p in await store.pending_events(100)]
    return [e for e in found if e.type == JobDataDeleted.event_type]


async def test_an_old_imports_rows_go_with_one_audited_event_and_a_recent_ones_stay(
    store: MemoryStore, files: DataFiles
) -> None:
    await _finished_import(store, "old-job", OLD)
    await _finished_import(store, "recent-job", RECENT)

    done = await delete_expired_job_data(store, files, now=NOW, retention_days=30)

    assert done == 1
    assert await _rows(store, "old-job") == []
    assert await _rows(store, "recent-job") == [2, 5]
    [event] = await _deletions(store)
    assert event.actor == RETENTION_ACTOR and event.tenant == TENANT
    assert event.data["job_id"] == "old-job" and event.data["job_kind"] == "import"
    assert event.data["rows"] == 2 and "failed_rows" in event.data["deleted"]
    assert event.data["finished_at"] == OLD and event.data["retention_days"] == 30
    # Nothing is due twice: a second pass deletes and publishes nothing more.
    assert await delete_expired_job_data(store, files, now=NOW, retention_days=30) == 0
    assert len(await _deletions(store)) == 1


async def test_the_period_is_settable(store: MemoryStore, files: DataFiles) -> None:
    await _finished_import(store, "recent-job", RECENT)
    assert await delete_expired_job_data(store, files, now=NOW, retention_days=90) == 0
    assert await delete_expired_job_data(store, files, now=NOW, retention_days=5) == 1
    assert await _rows(store, "recent-job") == []


async def test_an_old_exports_file_is_deleted_and_audited(
    store: MemoryStore, files: DataFiles
) -> None:
    path = files.export_path("exp-1")
    path.write_text("name,email\nAda,ada@example.com\n")
    async with store.transaction() as session:
        await WorkQueue(session).add_retention(
            job_kind="export", job_id="exp-1", tenant=TENANT, finished_at=OLD
        )
    assert await delete_expired_job_data(store, files, now=NOW, retention_days=30) == 1
    assert not path.exists()
    [event] = await _deletions(store)
    assert (event.data["job_kind"], event.data["deleted"]) == ("export", ["export_file"])


async def test_a_finished_import_is_kept_for_the_period_then_its_errors_csv_is_empty(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    # Every row has a cell too many: the importer fails them itself and the job ends at once.
    csv = b"name,email\nAda,ada@example.com,x\nBo,bo@example.com,y\n"
    accepted = await upload(client, csv)
    job_id = accepted.json()["id"]
    errors = await wait_for(
        lambda: client.get(f"/v1/imports/{job_id}/errors.csv", headers=auth(EDITOR_KEY)),
        lambda r: r.status_code == 200,
    )
    assert "ada@example.com" in errors.text
    store, files = app.state.store, app.state.files
    later = utcnow() + timedelta(days=31)
    assert await delete_expired_job_data(store, files, now=utcnow(), retention_days=30) == 0
    assert await delete_expired_job_data(store, files, now=later, retention_days=30) == 1
    after = await client.get(f"/v1/imports/{job_id}/errors.csv", headers=auth(EDITOR_KEY))
    assert after.text.splitlines() == ["name,email,error,warnings"]
    job = (await client.get(f"/v1/imports/{job_id}", headers=auth(EDITOR_KEY))).json()
    assert job["failed"] == 2  # the job and its counts stay
