"""/v1/exports: fields validation, export against a fake contacts API, download, tenancy."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from crm_shared.events import ExportCompleted
from crm_shared.topics import IMPORTER_EVENTS
from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.importer.helpers import FakeContactsApi, contact, export_state, outbox, run_export


async def test_an_export_writes_exactly_the_chosen_fields(
    client: httpx.AsyncClient, contacts_api: FakeContactsApi
) -> None:
    contacts_api.contacts = [contact(1), contact(2, tags=[], custom_fields={})]
    fields = ["email", "tags", "custom.plan", "custom.langs", "custom.seats", "phone", "id"]

    done = await run_export(client, {"fields": fields})
    response = await client.get(f"/v1/exports/{done['id']}/download", headers=auth(VIEWER_KEY))

    assert done["status"] == "completed"
    assert done["rows"] == 2
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment")
    assert list(csv.reader(io.StringIO(response.text))) == [
        fields,
        ["p1@example.com", "vip;early", "pro", '["fr","en"]', "3", "", "c1"],
        ["p2@example.com", "", "", "", "", "", "c2"],
    ]


async def test_an_export_reads_the_stream_with_the_callers_key_and_filter(
    running_app: Any, contacts_api: FakeContactsApi
) -> None:
    contacts_api.contacts = [contact(n) for n in range(5)]
    async with running_app(importer_export_page_size=2) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            done = await run_export(
                client,
                {"fields": ["id", "name", "custom.plan"], "filter": {"q": "ada", "tag": "vip"}},
            )

    assert done["rows"] == 5
    assert done["filter"] == {"q": "ada", "tag": ["vip"]}
    [request] = contacts_api.requests  # one streamed answer, not pages
    assert request.url.path == "/v1/contacts/stream"
    assert request.headers["authorization"] == f"Bearer {VIEWER_KEY}"
    # Only the export's fields are asked for: neither side handles what the file drops.
    assert dict(request.url.params) == {"q": "ada", "tag": "vip", "fields": "id,name,custom.plan"}


async def test_a_completed_export_writes_its_contact_ids_and_announces_itself(
    client: httpx.AsyncClient,
    app: FastAPI,
    contacts_api: FakeContactsApi,
    platform_env: dict[str, str],
) -> None:
    contacts_api.contacts = [contact(1), contact(2)]

    done = await run_export(client, {"fields": ["name"]})

    ids = Path(platform_env["CRM_DATA_DIR"]) / "importer" / "exports" / f"{done['id']}.ids"
    assert ids.read_text() == "c1\nc2\n"
    [event] = await outbox(app, ExportCompleted.event_type)
    assert event.topic == IMPORTER_EVENTS.name
    assert event.key == done["id"]
    assert event.envelope.data == {"export_id": done["id"], "fields": ["name"], "rows": 2}


async def test_an_export_of_no_contacts_has_only_the_header(client: httpx.AsyncClient) -> None:
    done = await run_export(client, {"fields": ["name", "email"]})
    response = await client.get(f"/v1/exports/{done['id']}/download", headers=auth())

    assert done["rows"] == 0
    assert response.text == "name,email\r\n"


async def test_an_unknown_field_is_refused_by_name(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/exports", json={"fields": ["name", "birthday"]}, headers=auth()
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "'birthday'" in response.json()["detail"]


async def test_an_empty_field_list_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/exports", json={"fields": []}, headers=auth())

    assert response.status_code == 422
    assert "at least one field" in response.json()["detail"]


async def test_an_unknown_filter_key_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/exports", json={"fields": ["name"], "filter": {"$where": "1"}}, headers=auth()
    )

    assert response.status_code == 422


async def test_an_export_needs_a_key(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/exports", json={"fields": ["name"]})

    assert response.status_code == 401


async def test_download_before_completion_is_a_conflict(
    client: httpx.AsyncClient, contacts_api: FakeContactsApi
) -> None:
    contacts_api.gate = asyncio.Event()  # the contacts API does not answer yet
    created = await client.post("/v1/exports", json={"fields": ["name"]}, headers=auth())
    export_id = created.json()["id"]

    response = await client.get(f"/v1/exports/{export_id}/download", headers=auth())
    contacts_api.gate.set()

    assert created.status_code == 202
    assert created.json()["status"] == "queued"
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


async def test_another_tenants_export_is_not_found(
    client: httpx.AsyncClient, contacts_api: FakeContactsApi
) -> None:
    contacts_api.contacts = [contact(1)]
    done = await run_export(client, {"fields": ["name"]})

    state = await client.get(f"/v1/exports/{done['id']}", headers=auth(OTHER_TENANT_KEY))
    download = await client.get(
        f"/v1/exports/{done['id']}/download", headers=auth(OTHER_TENANT_KEY)
    )

    assert state.status_code == 404
    assert download.status_code == 404


async def test_an_export_fails_when_the_contacts_api_refuses(
    client: httpx.AsyncClient, contacts_api: FakeContactsApi, platform_env: dict[str, str]
) -> None:
    contacts_api.status = 403

    done = await run_export(client, {"fields": ["name"]})

    assert done["status"] == "failed"
    assert "403" in done["error"]
    exports = Path(platform_env["CRM_DATA_DIR"]) / "importer" / "exports"
    assert list(exports.iterdir()) == []


async def test_an_export_interrupted_by_a_restart_fails(
    running_app: Any, contacts_api: FakeContactsApi
) -> None:
    contacts_api.gate = asyncio.Event()  # never answers while the first instance runs
    async with running_app() as first:
        transport = httpx.ASGITransport(app=first)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            created = await client.post("/v1/exports", json={"fields": ["name"]}, headers=auth())
    contacts_api.gate.set()

    async with running_app() as second:
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            state = await export_state(client, created.json()["id"])

    assert state["status"] == "failed"
    assert state["error"] == "interrupted by a restart; run it again"


async def test_an_editor_may_export(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/exports", json={"fields": ["id"]}, headers=auth(EDITOR_KEY))

    assert response.status_code == 202
