"""`dry_run=true`: the whole file decided against live contacts by the contacts service's
look-up (the batch apply's rule), with counts and errors.csv, and nothing written anywhere."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_shared.events import ImportContactsBatch, ImportJobFinished
from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.importer.helpers import job, outbox, upload
from tests.polling import eventually

FILE = (
    b"name,email,phone\n"
    b"Ada Again,ada@example.com,\n"
    b"Grace,grace@example.com,nope\n"
    b",grace@,\n"
    b"Alan,alan@example.com,\n"
)


async def _ended(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    return await eventually(
        lambda: job(client, job_id),
        lambda j: j["status"] in ("completed", "failed"),
        within=20.0,
        what=f"dry run {job_id} ended",
    )


async def _contacts(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/v1/contacts", headers=auth(VIEWER_KEY))
    return list(response.json()["items"])


async def test_a_dry_run_reports_what_would_happen_and_writes_nothing(
    with_contacts: tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    importer, client, contacts = with_contacts
    created = await contacts.post(
        "/v1/contacts", json={"name": "Ada Lovelace", "email": "ada@example.com"}, headers=auth()
    )
    assert created.status_code == 201
    accepted = await upload(client, FILE, on_duplicate="update", fields={"dry_run": "true"})
    assert accepted.status_code == 202, accepted.text
    state = await _ended(client, accepted.json()["id"])

    assert state["status"] == "completed" and state["dry_run"] is True
    counts = {k: state[k] for k in ("created", "updated", "skipped", "failed", "warned")}
    assert counts == {"created": 2, "updated": 1, "skipped": 0, "failed": 1, "warned": 1}
    assert state["processed_rows"] == state["total_rows"] == 4
    # Nothing stored in contacts, nothing published by the importer.
    [ada] = await _contacts(contacts)
    assert ada["name"] == "Ada Lovelace"
    assert await outbox(importer, ImportContactsBatch.event_type) == []
    assert await outbox(importer, ImportJobFinished.event_type) == []
    # The per-row report: the row that would fail and the row that would lose a cell.
    report = await eventually(
        lambda: client.get(f"/v1/imports/{state['id']}/errors.csv", headers=auth(EDITOR_KEY)),
        lambda r: r.status_code == 200,
        within=20.0,
        what="errors.csv of the dry run",
    )
    assert report.text.splitlines() == [
        "name,email,phone,error,warnings",
        "Grace,grace@example.com,nope,,phone is not a valid phone number (left out)",
        ",grace@,,row 3: email is not a valid address,",
    ]


async def test_the_real_import_after_a_dry_run_does_what_the_dry_run_said(
    with_contacts: tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    importer, client, _ = with_contacts
    dry = await upload(client, FILE, fields={"dry_run": "true", "match_on": "email"})
    assert (await _ended(client, dry.json()["id"]))["created"] == 3
    # A dry run wrote nothing: the same file is no repeat, it is imported.
    real = await upload(client, FILE, fields={"match_on": "email"})
    assert real.status_code == 202 and real.json().get("repeat_of") is None
    [first, second] = await eventually(
        lambda: outbox(importer, ImportContactsBatch.event_type),
        lambda batches: len(batches) == 2,
        within=20.0,
        what="the real import's two batches in the outbox",
    )
    assert first.envelope.data["match_on"] == ["email"]
    assert (
        first.envelope.data["occurred_at"] == (await job(client, real.json()["id"]))["created_at"]
    )
    assert [r["row_number"] for r in second.envelope.data["rows"]] == [3, 4]


@pytest.mark.parametrize(
    ("fields", "named"),
    [({"dry_run": "maybe"}, "dry_run"), ({"match_on": "email,fax"}, "match_on")],
)
async def test_bad_dry_run_or_match_on_values_are_refused_naming_the_field(
    with_contacts: tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient],
    fields: dict[str, str],
    named: str,
) -> None:
    _, client, _ = with_contacts
    response = await upload(client, FILE, fields=fields)
    assert response.status_code == 422
    assert response.json()["field"] == named
