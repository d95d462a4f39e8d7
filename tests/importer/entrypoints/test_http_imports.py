"""POST /v1/imports and GET /v1/imports/{id}: uploads become batches of rows in the outbox."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from crm_shared.events import ImportContactsBatch
from crm_shared.topics import CONTACT_COMMANDS
from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.importer.helpers import (
    Published,
    batch_processed,
    outbox,
    upload,
    upload_and_read,
    wait_for,
)

BATCH = ImportContactsBatch.event_type


def _rows(batches: list[Published]) -> list[dict[str, object]]:
    return [row for b in batches for row in b.envelope.data["rows"]]


async def test_an_upload_is_accepted_as_a_queued_job(client: httpx.AsyncClient) -> None:
    response = await upload(client, b"name,email\nAda,ada@example.com\n")

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["id"]


async def test_headers_map_by_name_ignoring_case_and_spaces(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    csv = (
        b" Name ,EMAIL,Phone,company,TimeZone,Tags,Favourite colour\n"
        b"Ada Lovelace,ada@example.com,+44 20 7946 0000,Analytical,Europe/London,vip;math,green\n"
    )
    job = await upload_and_read(client, csv)

    assert job["total_rows"] == 1
    assert job["ignored_columns"] == ["Favourite colour"]
    [batch] = await outbox(app, BATCH)
    assert batch.envelope.data["rows"] == [
        {
            "row_number": 1,
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "phone": "+44 20 7946 0000",
            "company": "Analytical",
            "timezone": "Europe/London",
            "tags": ["vip", "math"],
            "custom_fields": {},
            "emails": [],
            "phones": [],
            "external_ids": {},
        }
    ]


async def test_batches_are_commands_keyed_by_job_id_with_the_duplicate_policy(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    csv = b"name,email\n" + b"".join(f"P{i},p{i}@example.com\n".encode() for i in range(1, 6))
    job = await upload_and_read(client, csv, on_duplicate="update")

    batches = await outbox(app, BATCH)
    assert [b.envelope.data["batch_no"] for b in batches] == [1, 2, 3]  # batch size 2 here
    assert {b.topic for b in batches} == {CONTACT_COMMANDS.name}
    assert {b.key for b in batches} == {job["id"]}
    assert {b.envelope.data["job_id"] for b in batches} == {job["id"]}
    assert {b.envelope.data["on_duplicate"] for b in batches} == {"update"}
    assert {b.envelope.tenant for b in batches} == {"acme"}
    assert [r["row_number"] for r in _rows(batches)] == [1, 2, 3, 4, 5]
    assert job["status"] == "running"
    assert job["on_duplicate"] == "update"


async def test_on_duplicate_defaults_to_skip(client: httpx.AsyncClient, app: FastAPI) -> None:
    await upload_and_read(client, b"name\nAda\n")

    [batch] = await outbox(app, BATCH)
    assert batch.envelope.data["on_duplicate"] == "skip"


async def test_a_custom_mapping_maps_columns_and_custom_fields(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    csv = b"Full name,E-mail,Plan,Seats,email,Notes\nAda,ada@example.com,pro,12,old@example.com,x\n"
    mapping = {
        "Full name": "name",
        "e-mail": "email",  # keys match headers ignoring case
        "Plan": "custom.plan",
        "Seats": "custom.seats",
        "email": None,  # the by-name column is switched off
        "Notes": "",
    }
    job = await upload_and_read(client, csv, mapping=mapping)

    [batch] = await outbox(app, BATCH)
    assert batch.envelope.data["rows"] == [
        {
            "row_number": 1,
            "name": "Ada",
            "email": "ada@example.com",
            "phone": None,
            "company": None,
            "timezone": None,
            "tags": [],
            "custom_fields": {"plan": "pro", "seats": "12"},
            "emails": [],
            "phones": [],
            "external_ids": {},
        }
    ]
    assert job["ignored_columns"] == []
    assert job["mapping"] == {
        "Full name": "name",
        "E-mail": "email",
        "Plan": "custom.plan",
        "Seats": "custom.seats",
    }


async def test_a_custom_header_maps_by_name(client: httpx.AsyncClient, app: FastAPI) -> None:
    await upload_and_read(client, b"name,Custom.Plan\nAda,pro\n")

    [batch] = await outbox(app, BATCH)
    assert batch.envelope.data["rows"][0]["custom_fields"] == {"plan": "pro"}


async def test_tags_split_on_semicolons_and_commas(client: httpx.AsyncClient, app: FastAPI) -> None:
    await upload_and_read(client, b'name,tags\nAda,"vip, math;; early "\n')

    [batch] = await outbox(app, BATCH)
    assert batch.envelope.data["rows"][0]["tags"] == ["vip", "math", "early"]


async def test_a_ragged_row_and_a_latin1_row_of_a_utf8_file_fail_while_good_rows_are_batched(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    csv = (
        b"name,email\n"
        b"Ada,ada@example.com\n"
        b"Bob,bob@example.com,extra\n"
        b"Jos\xe9,jose@example.com\n"
        b"Cy\n"
        b"Dee,dee@example.com\n"
    )
    job = await upload_and_read(client, csv, fields={"encoding": "utf-8"})

    rows = _rows(await outbox(app, BATCH))
    assert [(r["row_number"], r["name"]) for r in rows] == [(1, "Ada"), (5, "Dee")]
    assert job["total_rows"] == 5
    assert job["failed"] == 3
    assert job["processed_rows"] == 3
    errors = (await client.get(f"/v1/imports/{job['id']}/errors", headers=auth())).json()
    assert [(e["row_number"], e["reason"]) for e in errors["items"]] == [
        (2, "row 2 has 3 cells but the header has 2"),
        (3, "row 3 is not valid UTF-8 (wrong file encoding?)"),
        (4, "row 4 has 1 cells but the header has 2"),
    ]
    assert errors["items"][1]["values"] == {"name": "José", "email": "jose@example.com"}


async def test_blank_lines_are_skipped_but_keep_their_row_number(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    job = await upload_and_read(client, b"name,email\n\nAda,a@example.com\n,\n\r\nBob,\n\n")

    rows = _rows(await outbox(app, BATCH))
    assert [(r["row_number"], r["name"]) for r in rows] == [(2, "Ada"), (5, "Bob")]
    assert job["total_rows"] == 2


async def test_a_utf8_bom_and_crlf_line_ends_are_handled(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    job = await upload_and_read(client, "\ufeffname,email\r\nZoë,zoe@example.com\r\n".encode())

    [batch] = await outbox(app, BATCH)
    assert batch.envelope.data["rows"][0]["name"] == "Zoë"
    assert job["ignored_columns"] == []


async def test_the_upload_is_kept_until_the_job_ends_then_deleted(
    client: httpx.AsyncClient, app: FastAPI, platform_env: dict[str, str]
) -> None:
    read = await upload_and_read(client, b"name\nAda\n")
    uploads = Path(platform_env["CRM_DATA_DIR"]) / "importer" / "uploads"
    while_running = [path.name for path in uploads.iterdir()]

    # The job's failed rows are copied from it for errors.csv when it ends; then it goes.
    await app.state.bus.handle(batch_processed(read["id"], 1, {1: "failed"}))
    errors = await wait_for(
        lambda: client.get(f"/v1/imports/{read['id']}/errors.csv", headers=auth()),
        lambda response: response.status_code == 200,
    )

    assert while_running == [f"{read['id']}.csv"]
    assert list(uploads.iterdir()) == []
    assert errors.text.splitlines()[1] == "Ada,email is not a valid address,"


async def test_a_job_reports_its_counts(client: httpx.AsyncClient) -> None:
    job = await upload_and_read(client, b"name\nAda\nBob\n")

    assert job["processed_rows"] == 0
    assert (job["created"], job["updated"], job["skipped"], job["failed"]) == (0, 0, 0, 0)
    assert job["created_at"].endswith("Z")
    assert job["finished_at"] is None


async def test_a_viewer_cannot_upload(client: httpx.AsyncClient) -> None:
    response = await upload(client, b"name\nAda\n", key=VIEWER_KEY)

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_upload_without_a_key_is_unauthorized(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/imports", files={"file": ("a.csv", b"name\nAda\n")})

    assert response.status_code == 401


async def test_a_wrong_key_is_unauthorized(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/imports/whatever", headers=auth("not-a-key"))

    assert response.status_code == 401


async def test_a_viewer_can_read_a_job(client: httpx.AsyncClient) -> None:
    job_id = (await upload(client, b"name\nAda\n")).json()["id"]

    response = await client.get(f"/v1/imports/{job_id}", headers=auth(VIEWER_KEY))

    assert response.status_code == 200
    assert response.json()["id"] == job_id


async def test_another_tenants_job_is_not_found(client: httpx.AsyncClient) -> None:
    job_id = (await upload(client, b"name\nAda\n", key=EDITOR_KEY)).json()["id"]

    response = await client.get(f"/v1/imports/{job_id}", headers=auth(OTHER_TENANT_KEY))
    errors = await client.get(f"/v1/imports/{job_id}/errors", headers=auth(OTHER_TENANT_KEY))

    assert response.status_code == 404
    assert errors.status_code == 404
