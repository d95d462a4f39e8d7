"""/v1/imports as jobs: the list, progress, cancel, repeated files and errors.csv."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
from fastapi import FastAPI

from crm_shared.events import ImportContactsBatch, ImportJobFinished
from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.importer.conftest import AppFactory
from tests.importer.helpers import (
    batch_processed,
    job,
    outbox,
    upload,
    upload_and_read,
    wait_for,
)

LARGE = b"name,email\n" + b"".join(b"P%d,p%d@example.com\n" % (n, n) for n in range(20_000))


async def _upload_with(client: httpx.AsyncClient, content: bytes, **fields: str) -> httpx.Response:
    return await client.post(
        "/v1/imports",
        files={"file": ("contacts.csv", content, "text/csv")},
        data=fields,
        headers=auth(EDITOR_KEY),
    )


async def _list(client: httpx.AsyncClient, key: str, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/imports", params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_imports_are_listed_newest_first_in_pages_with_their_counts(
    client: httpx.AsyncClient,
) -> None:
    made = [(await upload_and_read(client, b"name\nP%d\n" % n))["id"] for n in range(5)]
    await upload(client, b"name\nOther\n", key=OTHER_TENANT_KEY)

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        body = await _list(client, VIEWER_KEY, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert [item["id"] for item in seen] == list(reversed(made))
    assert pages == 3
    assert all(
        (item["total_rows"], item["rows_read"], item["created"], item["failed"]) == (1, 1, 0, 0)
        for item in seen
    )


async def test_another_tenant_lists_only_its_own_imports(client: httpx.AsyncClient) -> None:
    await upload_and_read(client, b"name\nAda\n")

    body = await _list(client, OTHER_TENANT_KEY)

    assert body == {"items": [], "next_cursor": None}


async def test_a_made_up_list_cursor_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/imports", params={"cursor": "x"}, headers=auth())

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_total_is_estimated_from_the_file_size_until_the_file_is_read(
    running_app: AppFactory,
) -> None:
    async with running_app(importer_worker_enabled=False) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            created = await upload(client, LARGE)
            state = await job(client, created.json()["id"])

    assert state["status"] == "queued"
    assert state["total_rows_estimated"] is True
    assert 18_000 <= state["total_rows"] <= 22_000  # from the first 64 KiB of the file
    assert (state["rows_per_second"], state["eta_seconds"], state["started_at"]) == (None,) * 3


async def test_progress_gives_rows_per_second_and_the_time_left(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    read = await upload_and_read(client, b"name\nA\nB\nC\nD\n")  # two batches of two

    await app.state.bus.handle(batch_processed(read["id"], 1, {1: "created", 2: "created"}))
    halfway = await job(client, read["id"])
    await app.state.bus.handle(batch_processed(read["id"], 2, {3: "created", 4: "created"}))
    done = await job(client, read["id"])

    assert (read["total_rows"], read["total_rows_estimated"]) == (4, False)
    assert halfway["processed_rows"] == 2
    assert halfway["rows_per_second"] > 0
    assert halfway["eta_seconds"] == 2 / halfway["rows_per_second"]
    assert done["status"] == "completed"
    assert done["eta_seconds"] == 0


async def test_cancel_stops_a_large_import_between_batches_and_keeps_what_was_sent(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    created = (await upload(client, LARGE)).json()
    # The worker shares the event loop with the API: on a busy machine a status read waits.
    await wait_for(lambda: job(client, created["id"]), lambda j: j["rows_read"] >= 100, within=60.0)

    cancelled = await client.post(f"/v1/imports/{created['id']}/cancel", headers=auth(EDITOR_KEY))
    # The worker reads one job at a time: once another upload is read, it left this one.
    await upload_and_read(client, b"name\nAfter the cancel\n")
    await app.state.bus.handle(batch_processed(created["id"], 1, {1: "created", 2: "created"}))
    state = await job(client, created["id"])
    sent = [
        b
        for b in await outbox(app, ImportContactsBatch.event_type)
        if b.envelope.data["job_id"] == created["id"]
    ]

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert state["status"] == "cancelled"
    assert "cancelled" in state["error"]
    # Nothing was read or sent after the cancel: the reader checks the job before each batch.
    assert state["rows_read"] == cancelled.json()["rows_read"] < 20_000
    assert len(sent) * 2 == state["rows_read"]
    assert (state["created"], state["processed_rows"]) == (2, 2)  # the answered batch counts
    [finished] = await outbox(app, ImportJobFinished.event_type)
    assert finished.envelope.data["cancelled"] is True
    assert finished.envelope.data["status"] == "failed"


async def test_an_import_that_ended_cannot_be_cancelled(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    read = await upload_and_read(client, b"name\nAda\n")
    await app.state.bus.handle(batch_processed(read["id"], 1, {1: "created"}))

    response = await client.post(f"/v1/imports/{read['id']}/cancel", headers=auth())

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["import_status"] == "completed"


async def test_cancel_needs_an_editor_of_the_same_tenant(client: httpx.AsyncClient) -> None:
    read = await upload_and_read(client, b"name\nAda\n")
    url = f"/v1/imports/{read['id']}/cancel"

    as_viewer = await client.post(url, headers=auth(VIEWER_KEY))
    as_other = await client.post(url, headers=auth(OTHER_TENANT_KEY))

    assert as_viewer.status_code == 403
    assert as_other.status_code == 404
    assert (await job(client, read["id"]))["status"] == "running"


async def test_the_same_file_again_answers_with_the_earlier_import(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    first = await _upload_with(client, b"name\nAda\n")

    again = await _upload_with(client, b"name\nAda\n")
    forced = await _upload_with(client, b"name\nAda\n", allow_repeat="true")
    other_file = await _upload_with(client, b"name\nBob\n")
    other_tenant = await client.post(
        "/v1/imports",
        files={"file": ("contacts.csv", b"name\nAda\n", "text/csv")},
        headers=auth(OTHER_TENANT_KEY),
    )

    assert first.status_code == 202
    assert first.headers["location"] == f"/v1/imports/{first.json()['id']}"
    assert again.status_code == 200
    assert again.headers["location"] == f"/v1/imports/{first.json()['id']}"
    assert again.json()["id"] == again.json()["repeat_of"] == first.json()["id"]
    assert forced.status_code == 202
    assert forced.json()["id"] != first.json()["id"]
    assert other_file.status_code == other_tenant.status_code == 202
    jobs = (await _list(client, VIEWER_KEY))["items"]
    assert len(jobs) == 3  # the repeat made no job
    assert list((app.state.files.uploads).glob("*.part")) == []


async def test_a_cancelled_import_of_the_file_is_no_repeat(client: httpx.AsyncClient) -> None:
    first = await _upload_with(client, b"name\nAda\n")
    await client.post(f"/v1/imports/{first.json()['id']}/cancel", headers=auth())

    again = await _upload_with(client, b"name\nAda\n")

    assert again.status_code == 202
    assert again.json()["id"] != first.json()["id"]


async def test_allow_repeat_must_be_a_flag(client: httpx.AsyncClient) -> None:
    response = await _upload_with(client, b"name\nAda\n", allow_repeat="maybe")

    assert response.status_code == 422
    assert response.json()["field"] == "allow_repeat"


async def _errors_csv(client: httpx.AsyncClient, job_id: str) -> list[list[str]]:
    response = await wait_for(
        lambda: client.get(f"/v1/imports/{job_id}/errors.csv", headers=auth(VIEWER_KEY)),
        lambda r: r.status_code == 200,
    )
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment")
    return list(csv.reader(io.StringIO(response.text)))


async def test_errors_csv_round_trip_fixed_rows_import_again(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    original = (
        b"name,email,notes\n"
        b"Ada,ada@example.com,first\n"
        b"=1+2,grace@example,from the fair\n"  # the contacts service refuses the email
        b"Linus,only two\n"  # one cell short: refused by the importer itself
        b"Alan,alan@example.com,fine\n"
    )
    read = await upload_and_read(client, original)
    await app.state.bus.handle(batch_processed(read["id"], 1, {1: "created", 2: "failed"}))
    await app.state.bus.handle(batch_processed(read["id"], 2, {4: "created"}))

    rows = await _errors_csv(client, read["id"])

    assert rows == [
        ["name", "email", "notes", "error", "warnings"],
        ["'=1+2", "grace@example", "from the fair", "email is not a valid address", ""],
        ["Linus", "only two", "", "row 3 has 2 cells but the header has 3", ""],
    ]
    fixed = [rows[0], ["Grace", "grace@example.com", "from the fair", "", ""]]
    fixed.append(["Linus", "linus@example.com", "", "", ""])
    buffer = io.StringIO()
    csv.writer(buffer).writerows(fixed)
    again = await upload_and_read(client, buffer.getvalue().encode())

    assert again["ignored_columns"] == ["notes", "error", "warnings"]
    batches = [
        b.envelope.data
        for b in await outbox(app, ImportContactsBatch.event_type)
        if b.envelope.data["job_id"] == again["id"]
    ]
    sent = [(r["name"], r["email"]) for b in batches for r in b["rows"]]
    assert sent == [("Grace", "grace@example.com"), ("Linus", "linus@example.com")]


async def test_errors_csv_keeps_no_cell_of_a_row_naming_an_erased_person(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    read = await upload_and_read(
        client, b"name,email\nAda,ada@example.com\nGone,gone@example.com\n"
    )
    processed = batch_processed(
        read["id"], 1, {1: "failed", 2: "failed"}, suppressed=frozenset({2})
    )
    await app.state.bus.handle(processed)

    rows = await _errors_csv(client, read["id"])

    assert rows[1][:2] == ["Ada", "ada@example.com"]
    assert rows[2] == ["", "", "the person was erased", ""]
    async with app.state.store.reader() as session:
        kept = await session.find("import_errors", tenant="acme")
    assert "gone@example.com" not in str(kept) and "Gone" not in str(kept)


async def test_errors_csv_waits_for_the_end_of_the_import(client: httpx.AsyncClient) -> None:
    read = await upload_and_read(client, b"name\nAda\n")

    response = await client.get(f"/v1/imports/{read['id']}/errors.csv", headers=auth())

    assert response.status_code == 409
    assert response.json()["import_status"] == "running"


async def test_errors_csv_of_another_tenants_import_is_not_found(
    client: httpx.AsyncClient,
) -> None:
    read = await upload_and_read(client, b"name\nAda\n")

    response = await client.get(
        f"/v1/imports/{read['id']}/errors.csv", headers=auth(OTHER_TENANT_KEY)
    )

    assert response.status_code == 404


async def test_errors_csv_of_a_cancelled_import_can_start_with_a_bom(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    created = (await upload(client, b"name,email\nZo\xc3\xab,z@x.io\nBad\n")).json()
    await wait_for(lambda: job(client, created["id"]), lambda j: not j["total_rows_estimated"])
    await client.post(f"/v1/imports/{created['id']}/cancel", headers=auth())
    # Batch 1 (Zoë) is still unanswered: the cancelled job waits for it before copying rows.
    early = await client.get(f"/v1/imports/{created['id']}/errors.csv", headers=auth())
    await app.state.bus.handle(batch_processed(created["id"], 1, {1: "failed"}))
    response = await wait_for(
        lambda: client.get(
            f"/v1/imports/{created['id']}/errors.csv", params={"bom": "true"}, headers=auth()
        ),
        lambda r: r.status_code == 200,
    )

    assert early.status_code == 409
    assert response.content.startswith(b"\xef\xbb\xbfname,email,error,warnings\r\n")
    assert response.text.lstrip("\ufeff").splitlines()[1:] == [
        "Zoë,z@x.io,email is not a valid address,",
        "Bad,,row 2 has 1 cells but the header has 2,",
    ]
