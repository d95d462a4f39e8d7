"""`Idempotency-Key` on POST /v1/imports (streamed upload) and POST /v1/exports."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from crm_importer.adapters.collections import EXPORTS, IMPORT_JOBS
from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.importer.helpers import FakeContactsApi, contact

CSV = b"name,email\nAda,ada@example.com\n"


async def _upload(
    client: httpx.AsyncClient,
    content: bytes,
    key: str,
    *,
    api_key: str = EDITOR_KEY,
    on_duplicate: str = "skip",
) -> httpx.Response:
    # httpx draws a new multipart boundary per request: a retry's bytes differ, its form doesn't.
    return await client.post(
        "/v1/imports",
        files={"file": ("contacts.csv", content, "text/csv")},
        data={"on_duplicate": on_duplicate},
        headers={**auth(api_key), "Idempotency-Key": key},
    )


async def _count(app: FastAPI, collection: str, tenant: str = "acme") -> int:
    async with app.state.store.reader() as session:
        count: int = await session.count(collection, tenant=tenant)
    return count


async def test_a_replayed_upload_returns_the_same_job_and_queues_one(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    first = await _upload(client, CSV, "k-1")
    again = await _upload(client, CSV, "k-1")
    assert first.status_code == again.status_code == 202, first.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(app, IMPORT_JOBS) == 1
    # The replay's own copy of the file was not kept.
    kept = [p.name for p in app.state.files.uploads.iterdir()]
    assert all(first.json()["id"] in name for name in kept), kept


async def test_the_same_key_with_another_file_or_field_is_422(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _upload(client, CSV, "k-1")
    other_file = await _upload(client, CSV + b"Grace,grace@example.com\n", "k-1")
    other_field = await _upload(client, CSV, "k-1", on_duplicate="update")
    for response in (other_file, other_field):
        assert response.status_code == 422
        assert response.json()["field"] == "Idempotency-Key"
    assert await _count(app, IMPORT_JOBS) == 1


async def test_another_tenant_uploading_with_the_same_key_gets_its_own_job(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    ours = await _upload(client, CSV, "k-1")
    theirs = await _upload(client, CSV, "k-1", api_key=OTHER_TENANT_KEY)
    assert theirs.status_code == 202
    assert theirs.json()["id"] != ours.json()["id"]
    assert await _count(app, IMPORT_JOBS, "globex") == 1


async def test_a_refused_upload_releases_the_key(app: FastAPI, client: httpx.AsyncClient) -> None:
    refused = await _upload(client, b"", "k-1")
    assert refused.status_code == 422
    accepted = await _upload(client, CSV, "k-1")
    assert accepted.status_code == 202


async def test_a_replayed_export_returns_the_same_export(
    app: FastAPI, client: httpx.AsyncClient, contacts_api: FakeContactsApi
) -> None:
    contacts_api.contacts = [contact(1)]
    headers = {**auth(VIEWER_KEY), "Idempotency-Key": "e-1"}
    first = await client.post("/v1/exports", json={"fields": ["email"]}, headers=headers)
    again = await client.post("/v1/exports", json={"fields": ["email"]}, headers=headers)
    other = await client.post("/v1/exports", json={"fields": ["name"]}, headers=headers)
    assert first.status_code == again.status_code == 202, first.text
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 422
    assert await _count(app, EXPORTS) == 1
