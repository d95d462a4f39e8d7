"""The results consumer: ImportBatchProcessed adds counts, completes the job, and is idempotent."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from crm_shared.envelope import EventEnvelope
from crm_shared.events import ImportJobFinished, NoteAdded
from crm_shared.topics import IMPORTER_EVENTS
from tests.conftest import auth
from tests.importer.helpers import batch_processed, job, outbox, upload_and_read, wait_for

FINISHED = ImportJobFinished.event_type
FOUR_ROWS = b"name,email\nA,a@x.io\nB,b@x.io\nC,c@x.io\nD,bad\n"  # two batches of two


async def _listing(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())  # noqa: ASYNC240 - a test's folder


async def test_batch_results_add_to_the_counts(client: httpx.AsyncClient, app: FastAPI) -> None:
    created = await upload_and_read(client, FOUR_ROWS)

    await app.state.bus.handle(batch_processed(created["id"], 1, {1: "created", 2: "updated"}))

    state = await job(client, created["id"])
    assert (state["processed_rows"], state["created"], state["updated"]) == (2, 1, 1)
    assert state["status"] == "running"
    assert await outbox(app, FINISHED) == []


async def test_the_last_results_complete_the_job_and_announce_it(
    client: httpx.AsyncClient, app: FastAPI, platform_env: dict[str, str]
) -> None:
    created = await upload_and_read(client, FOUR_ROWS)

    await app.state.bus.handle(batch_processed(created["id"], 1, {1: "created", 2: "skipped"}))
    await app.state.bus.handle(batch_processed(created["id"], 2, {3: "created", 4: "failed"}))

    state = await job(client, created["id"])
    assert state["status"] == "completed"
    assert state["finished_at"] is not None
    assert (state["total_rows"], state["processed_rows"]) == (4, 4)
    assert (state["created"], state["updated"], state["skipped"], state["failed"]) == (2, 0, 1, 1)
    [finished] = await outbox(app, FINISHED)
    assert finished.topic == IMPORTER_EVENTS.name
    assert finished.key == created["id"]
    assert finished.envelope.data == {
        "job_id": created["id"],
        "status": "completed",
        "total_rows": 4,
        "created": 2,
        "updated": 0,
        "skipped": 1,
        "failed": 1,
        "cancelled": False,
    }
    # The worker copies the failed row's cells for errors.csv, then deletes the upload.
    uploads = Path(platform_env["CRM_DATA_DIR"]) / "importer" / "uploads"
    assert await wait_for(lambda: _listing(uploads), lambda names: names == []) == []


async def test_handling_the_same_results_twice_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    created = await upload_and_read(client, FOUR_ROWS)
    first = batch_processed(created["id"], 1, {1: "created", 2: "created"})
    last = batch_processed(created["id"], 2, {3: "created", 4: "created"})

    for envelope in (first, first, last, last):
        await app.state.bus.handle(envelope)

    state = await job(client, created["id"])
    assert (state["processed_rows"], state["created"]) == (4, 4)
    assert len(await outbox(app, FINISHED)) == 1


async def test_a_second_answer_for_the_same_batch_is_ignored(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    created = await upload_and_read(client, FOUR_ROWS)

    await app.state.bus.handle(batch_processed(created["id"], 1, {1: "created", 2: "created"}))
    await app.state.bus.handle(batch_processed(created["id"], 1, {1: "updated", 2: "updated"}))

    state = await job(client, created["id"])
    assert (state["processed_rows"], state["created"], state["updated"]) == (2, 2, 0)


async def test_rows_the_contacts_service_failed_are_listed_without_values(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    created = await upload_and_read(client, FOUR_ROWS)

    await app.state.bus.handle(batch_processed(created["id"], 2, {3: "created", 4: "failed"}))

    errors = (await client.get(f"/v1/imports/{created['id']}/errors", headers=auth())).json()
    assert errors["items"] == [
        {"row_number": 4, "reason": "email is not a valid address", "warnings": [], "values": None}
    ]


async def test_imported_rows_with_warnings_are_counted_and_listed_with_them(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    created = await upload_and_read(client, FOUR_ROWS)
    warning = "phone '+0987654321' is not a valid phone number (left out)"

    await app.state.bus.handle(
        batch_processed(created["id"], 1, {1: "created", 2: "updated"}, warnings={2: [warning]})
    )

    state = await job(client, created["id"])
    assert (state["created"], state["updated"], state["warned"], state["failed"]) == (1, 1, 1, 0)
    errors = (await client.get(f"/v1/imports/{created['id']}/errors", headers=auth())).json()
    assert errors["items"] == [
        {"row_number": 2, "reason": None, "warnings": [warning], "values": None}
    ]


async def test_results_of_a_job_in_another_tenant_are_ignored(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    created = await upload_and_read(client, FOUR_ROWS)

    await app.state.bus.handle(
        batch_processed(created["id"], 1, {1: "created", 2: "created"}, tenant="globex")
    )

    assert (await job(client, created["id"]))["processed_rows"] == 0


async def test_an_unrelated_event_is_ignored(client: httpx.AsyncClient, app: FastAPI) -> None:
    envelope = EventEnvelope.wrap(
        NoteAdded(contact_id="c1", note_id="n1"),
        source="crm/timeline",
        tenant="acme",
        subject="c1",
    )

    await app.state.bus.handle(envelope)

    assert await outbox(app) == []


async def test_a_file_whose_rows_all_fail_locally_completes_at_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    state = await upload_and_read(client, b"name,email\nA\nB\n")

    assert state["status"] == "completed"
    assert state["failed"] == 2
    [finished] = await outbox(app, FINISHED)
    assert finished.envelope.data["failed"] == 2


async def test_completion_deletes_the_upload_kept_for_errors_csv(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    created = await upload_and_read(client, b"name\nAda\n")
    upload = app.state.files.upload_path(created["id"])
    kept_while_running = upload.exists()

    await app.state.bus.handle(batch_processed(created["id"], 1, {1: "created"}))

    assert kept_while_running
    assert (await job(client, created["id"]))["status"] == "completed"
    assert await wait_for(lambda: _listing(upload.parent), lambda names: names == []) == []
