"""An import whose batch results never come back ends `failed` with the reason, not `running`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from crm_importer.adapters.repository import WorkQueue
from crm_importer.service_layer.imports import fail_stalled_imports
from crm_shared.clock import iso
from crm_shared.events import ImportJobFinished
from tests.importer.helpers import batch_processed, job, outbox, upload_and_read

FOUR_ROWS = b"name,email\nA,a@x.io\nB,b@x.io\nC,c@x.io\nD,d@x.io\n"  # two batches of two


def _later(minutes: float) -> str:
    return iso(datetime.now(UTC) + timedelta(minutes=minutes))


async def _waiting(app: FastAPI) -> list[str]:
    async with app.state.store.reader() as session:
        return [job_id for job_id, _ in await WorkQueue(session).items("results")]


async def test_a_job_whose_batch_never_answers_fails_naming_the_batch(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    created = await upload_and_read(client, FOUR_ROWS)
    await app.state.bus.handle(batch_processed(created["id"], 1, {1: "created", 2: "created"}))
    assert await _waiting(app) == [created["id"]]
    store, files = app.state.store, app.state.files

    # Not yet: the last result came a moment ago.
    assert await fail_stalled_imports(store, files, now=_later(1), timeout_seconds=900) == 0
    assert (await job(client, created["id"]))["status"] == "running"

    assert await fail_stalled_imports(store, files, now=_later(16), timeout_seconds=900) == 1
    state = await job(client, created["id"])
    assert state["status"] == "failed"
    assert "batch(es) 2 " in state["error"]
    assert state["created"] == 2
    [finished] = await outbox(app, ImportJobFinished.event_type)
    assert finished.envelope.data["status"] == "failed"
    assert await _waiting(app) == []


async def test_a_job_that_completes_stops_being_watched(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    created = await upload_and_read(client, FOUR_ROWS)
    await app.state.bus.handle(batch_processed(created["id"], 1, {1: "created", 2: "created"}))
    await app.state.bus.handle(batch_processed(created["id"], 2, {3: "created", 4: "failed"}))
    assert await _waiting(app) == []
    store, files = app.state.store, app.state.files
    assert await fail_stalled_imports(store, files, now=_later(60), timeout_seconds=1) == 0
    assert (await job(client, created["id"]))["status"] == "completed"
