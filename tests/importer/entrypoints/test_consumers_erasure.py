"""The erasure consumer: export files and failed import rows holding the person are deleted."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from crm_shared.envelope import EventEnvelope
from crm_shared.events import ErasureReceipt, ErasureRequested
from crm_shared.identity import PersonIdentifiers, person_hashes
from crm_shared.settings import DEV_SUPPRESSION_KEY
from crm_shared.topics import ERASURE_RECEIPTS
from tests.conftest import OTHER_TENANT_KEY, auth
from tests.importer.helpers import (
    FakeContactsApi,
    batch_processed,
    contact,
    export_state,
    outbox,
    run_export,
    upload_and_read,
    wait_for,
)

KEY = DEV_SUPPRESSION_KEY.encode()  # the test settings leave CRM_SUPPRESSION_KEY unset
RECEIPT = ErasureReceipt.event_type


def erasure(
    contact_id: str,
    *,
    emails: Sequence[str] = (),
    phones: Sequence[str] = (),
    tenant: str = "acme",
) -> EventEnvelope:
    """An erasure request as gdpr publishes it."""
    data = ErasureRequested(
        erasure_id="er-1",
        contact_id=contact_id,
        identifier_hashes=person_hashes(
            KEY, PersonIdentifiers(emails=tuple(emails), phones=tuple(phones)), region="US"
        ),
    )
    return EventEnvelope.wrap(data, source="crm/gdpr", tenant=tenant, subject=contact_id)


def export_files(platform_env: dict[str, str], export_id: str) -> list[Path]:
    folder = Path(platform_env["CRM_DATA_DIR"]) / "importer" / "exports"
    return sorted(p for p in folder.iterdir() if p.name.startswith(export_id))


async def test_an_export_containing_the_contact_is_deleted_and_expired(
    client: httpx.AsyncClient,
    app: FastAPI,
    contacts_api: FakeContactsApi,
    platform_env: dict[str, str],
) -> None:
    contacts_api.contacts = [contact(1), contact(2)]
    holding = await run_export(client, {"fields": ["name"]})
    contacts_api.contacts = [contact(2)]
    other = await run_export(client, {"fields": ["name"]})

    await app.state.bus.handle(erasure("c1"))

    assert export_files(platform_env, holding["id"]) == []
    state = await export_state(client, holding["id"])
    assert state["status"] == "expired"
    assert state["error"] == "removed after an erasure request"
    download = await client.get(f"/v1/exports/{holding['id']}/download", headers=auth())
    assert download.status_code == 410
    assert len(export_files(platform_env, other["id"])) == 2
    assert (await export_state(client, other["id"]))["status"] == "completed"


async def test_another_tenants_export_is_left_alone(
    client: httpx.AsyncClient,
    app: FastAPI,
    contacts_api: FakeContactsApi,
    platform_env: dict[str, str],
) -> None:
    contacts_api.contacts = [contact(1)]
    response = await client.post(
        "/v1/exports", json={"fields": ["name"]}, headers=auth(OTHER_TENANT_KEY)
    )
    export_id = response.json()["id"]
    await app.state.exports.wait_idle()
    assert len(export_files(platform_env, export_id)) == 2

    await app.state.bus.handle(erasure("c1", tenant="acme"))

    assert len(export_files(platform_env, export_id)) == 2


async def test_failed_import_rows_holding_the_person_are_deleted(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    csv = (
        b"name,email,phone\n"
        b"Ada,ADA@example.com,+44 20 7946 0000,extra\n"  # ragged: holds her email
        b"Bob,bob@example.com\n"  # ragged: someone else
        b"Ad\xe9,other@example.com,+44 (20) 7946-0000\n"  # bad bytes: holds her phone
    )
    job = await upload_and_read(client, csv)

    await app.state.bus.handle(erasure("c1", emails=["ada@example.com"], phones=["+442079460000"]))

    errors = (await client.get(f"/v1/imports/{job['id']}/errors", headers=auth())).json()
    assert [e["row_number"] for e in errors["items"]] == [2]


async def test_a_failed_row_with_a_national_format_phone_is_deleted(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    csv = (
        b"name,email,phone\n"
        b"Ada,not-an-email,(415) 555-0123,extra\n"  # ragged: her phone as typed, national form
        b"Bob,not-an-email,(415) 555-0199,extra\n"  # ragged: someone else's phone
    )
    job = await upload_and_read(client, csv)

    # gdpr hashes the phone as the contacts service stores it: E.164.
    await app.state.bus.handle(erasure("c1", phones=["+14155550123"]))

    errors = (await client.get(f"/v1/imports/{job['id']}/errors", headers=auth())).json()
    assert [e["row_number"] for e in errors["items"]] == [2]


async def test_a_receipt_is_published_for_the_contact(app: FastAPI) -> None:
    await app.state.bus.handle(erasure("c9"))

    [receipt] = await outbox(app, RECEIPT)
    assert receipt.topic == ERASURE_RECEIPTS.name
    assert receipt.key == "c9"
    assert receipt.envelope.data["service"] == "importer"
    assert receipt.envelope.data["status"] == "completed"
    assert receipt.envelope.data["erasure_id"] == "er-1"
    assert receipt.envelope.data["contact_id"] == "c9"


async def test_handling_the_same_request_twice_changes_nothing(app: FastAPI) -> None:
    request = erasure("c9")

    await app.state.bus.handle(request)
    await app.state.bus.handle(request)

    assert len(await outbox(app, RECEIPT)) == 1


async def test_an_export_still_running_expires_if_it_contains_the_contact(
    client: httpx.AsyncClient,
    app: FastAPI,
    contacts_api: FakeContactsApi,
    platform_env: dict[str, str],
) -> None:
    contacts_api.contacts = [contact(1)]
    contacts_api.gate = asyncio.Event()
    created = await client.post("/v1/exports", json={"fields": ["name"]}, headers=auth())
    export_id = created.json()["id"]
    await wait_for(lambda: export_state(client, export_id), lambda e: e["status"] == "running")

    await app.state.bus.handle(erasure("c1"))
    contacts_api.gate.set()
    state: dict[str, Any] = await wait_for(
        lambda: export_state(client, export_id), lambda e: e["status"] != "running"
    )

    assert state["status"] == "expired"
    assert export_files(platform_env, export_id) == []
    assert await outbox(app, "crm.importer.export.completed.v1") == []


async def test_a_row_the_contacts_service_failed_is_erased_once_its_cells_were_copied(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    read = await upload_and_read(client, b"name,email\nGrace,grace@example.com\nAda,ada@x.io\n")
    await app.state.bus.handle(batch_processed(read["id"], 1, {1: "failed", 2: "created"}))
    url = f"/v1/imports/{read['id']}/errors.csv"
    before = await wait_for(lambda: client.get(url, headers=auth()), lambda r: r.status_code == 200)

    await app.state.bus.handle(erasure("c-grace", emails=["grace@example.com"]))
    after = await client.get(url, headers=auth())

    assert "grace@example.com" in before.text
    assert after.text.splitlines() == ["name,email,error,warnings"]
