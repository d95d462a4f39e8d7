"""Batches whose results never came back are sent again (bounded), then the job fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from crm_importer.service_layer.imports import fail_stalled_imports
from crm_importer.service_layer.reading import ReadingOptions
from crm_importer.service_layer.resending import RESEND_LIMIT, resend_stalled_batches
from crm_shared.clock import iso
from crm_shared.events import ImportContactsBatch
from tests.importer.helpers import batch_processed, job, outbox, upload_and_read

# Row 2 is blank (skipped by the reader): batch 1 is rows 1 and 3, batch 2 rows 4 and 5.
ROWS = b"name,email\nA,a@x.io\n,\nC,c@x.io\nD,d@x.io\nE,e@x.io\n"
OPTIONS = ReadingOptions(batch_size=2, batch_max_bytes=1_000_000, suppression_key=b"k" * 32)


def _later(seconds: float) -> str:
    return iso(datetime.now(UTC) + timedelta(seconds=seconds))


async def _batches(app: FastAPI, batch_no: int) -> list[list[tuple[int, str | None]]]:
    sent = await outbox(app, ImportContactsBatch.event_type)
    return [
        [(row["row_number"], row.get("email")) for row in p.envelope.data["rows"]]
        for p in sent
        if p.envelope.data["batch_no"] == batch_no
    ]


async def test_an_unanswered_batch_is_sent_again_with_the_same_rows_and_completes(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    created = await upload_and_read(client, ROWS)
    store, files = app.state.store, app.state.files
    await app.state.bus.handle(batch_processed(created["id"], 1, {1: "created", 3: "created"}))
    [first] = await _batches(app, 2)

    # Not yet: the last result came a moment ago.
    assert await resend_stalled_batches(store, files, OPTIONS, now=_later(5), after_seconds=60) == 0
    assert (
        await resend_stalled_batches(store, files, OPTIONS, now=_later(61), after_seconds=60) == 1
    )
    assert first == [(4, "d@x.io"), (5, "e@x.io")]
    assert await _batches(app, 2) == [first, first]
    assert await _batches(app, 1) == [[(1, "a@x.io"), (3, "c@x.io")]]  # answered: not again

    await app.state.bus.handle(batch_processed(created["id"], 2, {4: "created", 5: "created"}))
    state = await job(client, created["id"])
    assert (state["status"], state["created"], state["total_rows"]) == ("completed", 4, 4)


async def test_a_batch_never_answered_is_sent_a_bounded_number_of_times_then_the_job_fails(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    created = await upload_and_read(client, ROWS)
    store, files = app.state.store, app.state.files
    await app.state.bus.handle(batch_processed(created["id"], 1, {1: "created", 3: "created"}))
    for n in range(1, RESEND_LIMIT + 2):
        await resend_stalled_batches(store, files, OPTIONS, now=_later(61 * n), after_seconds=60)
    assert len(await _batches(app, 2)) == 1 + RESEND_LIMIT
    assert (await job(client, created["id"]))["status"] == "running"

    late = _later(61 * RESEND_LIMIT + 901)
    assert await fail_stalled_imports(store, files, now=late, timeout_seconds=900) == 1
    state = await job(client, created["id"])
    assert state["status"] == "failed" and "batch(es) 2 " in state["error"]
