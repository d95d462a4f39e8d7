"""The derived-fields backfill as the running service does it: at start, under its lease."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx

from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_contacts.bootstrap import create_app
from crm_contacts.domain.contact import new_contact
from crm_shared.ids import new_id
from crm_shared.storage.sqlite import SqliteStore
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, auth
from tests.polling import app_lifespan, eventually

NOW = "2026-01-01T00:00:00.000000Z"


async def _store_made_by_older_code(data_dir: Path) -> dict[str, Any]:
    """The service's file holding one contact as stop 8 stored it (no `f:` blocking key)."""
    doc = dict(
        new_contact(
            contact_id=new_id(),
            tenant="acme",
            profile={"name": "John Smith", "company": "Acme"},
            source="manual",
            now=NOW,
        )
    )
    doc["match_keys"] = [key for key in doc["match_keys"] if not key.startswith("f:")]
    store = SqliteStore(data_dir / "contacts.sqlite3")
    # Older code stored the derived fields it computed, the match keys among them.
    await store.start(tuple(dataclasses.replace(spec, derived=()) for spec in COLLECTION_SPECS))
    async with store.transaction() as session:
        await session.insert("contacts", doc)
    await store.close()
    return doc


async def test_a_started_service_backfills_older_contacts_and_shows_its_progress(
    platform_env: dict[str, str],
) -> None:
    old = await _store_made_by_older_code(Path(platform_env["CRM_DATA_DIR"]))
    app = create_app()
    async with app_lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            async def progress(key: str = ADMIN_KEY) -> dict[str, Any]:
                response = await client.get("/v1/derived-fields/backfill", headers=auth(key))
                assert response.status_code == 200, response.text
                return dict(response.json())

            done = await eventually(progress, lambda p: p["status"] == "finished")
            assert (done["processed"], done["rewritten"]) == (1, 1)
            # Another tenant's view is its own (it has no contacts: nothing to do yet).
            assert (await progress(OTHER_TENANT_KEY))["status"] == "pending"
            denied = await client.get("/v1/derived-fields/backfill", headers=auth(EDITOR_KEY))
            assert denied.status_code == 403
            assert denied.headers["content-type"].startswith("application/problem+json")

            created = await client.post(
                "/v1/contacts",
                params={"check_duplicates": "true"},
                json={"name": "John Slmith", "company": "Acme"},
                headers=auth(EDITOR_KEY),
            )
            assert created.status_code == 201, created.text
            found = [item["contact"]["id"] for item in created.json()["possible_duplicates"]]
            assert found == [old["id"]]
            contact = await client.get(f"/v1/contacts/{old['id']}", headers=auth(EDITOR_KEY))
            assert contact.json()["version"] == 1  # derived fields only: no new version
