"""Access bundles are kept for their retention, read again meanwhile, then deleted and audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from crm_gdpr.adapters.bundles import DATA_EXPORTS
from crm_gdpr.entrypoints.consumers import GdprBuses
from crm_gdpr.service_layer.bundle_retention import delete_expired_bundles
from crm_shared.events import ErasureRequested
from crm_shared.storage import DocumentStore
from tests.conftest import ADMIN_KEY, OTHER_TENANT_KEY, auth
from tests.gdpr.fakes import ALICE, ALICE_ID, FakeUpstream, wrap

RETENTION_HOURS = 72  # the default of GDPR_BUNDLE_RETENTION_HOURS


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def upstream() -> FakeUpstream:
    fake = FakeUpstream()
    fake.add_contact("acme", dict(ALICE))
    fake.timeline[("acme", ALICE_ID)] = [{"id": "act1", "summary": "chat about the order"}]
    return fake


async def _export(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post(
        "/v1/data-exports", json={"contact_id": ALICE_ID}, headers=auth(ADMIN_KEY)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _read(client: httpx.AsyncClient, export_id: str, key: str = ADMIN_KEY) -> httpx.Response:
    return await client.get(f"/v1/data-exports/{export_id}", headers=auth(key))


async def _stored_bundles(store: DocumentStore) -> list[dict[str, Any]]:
    async with store.reader() as session:
        return await session.find(DATA_EXPORTS, tenant="acme")


async def test_a_bundle_is_read_again_until_it_expires_then_deleted_with_an_audit_entry(
    client: httpx.AsyncClient, store: DocumentStore
) -> None:
    bundle = await _export(client)
    made = parse_iso(bundle["generated_at"])
    assert parse_iso(bundle["expires_at"]) - made == timedelta(hours=RETENTION_HOURS)
    again = await _read(client, bundle["export_id"])
    assert again.status_code == 200 and again.json()["timeline"] == bundle["timeline"]
    assert (await _read(client, bundle["export_id"], OTHER_TENANT_KEY)).status_code == 404

    early = made + timedelta(hours=RETENTION_HOURS) - timedelta(minutes=1)
    assert await delete_expired_bundles(store, now=early) == 0
    assert (await _read(client, bundle["export_id"])).status_code == 200

    late = made + timedelta(hours=RETENTION_HOURS, seconds=1)
    assert await delete_expired_bundles(store, now=late) == 1
    assert (await _read(client, bundle["export_id"])).status_code == 404
    assert await _stored_bundles(store) == []
    assert await delete_expired_bundles(store, now=late) == 0

    log = (
        await client.get(
            "/v1/audit-log", params={"action": "gdpr.data-export.deleted"}, headers=auth()
        )
    ).json()["items"]
    [deleted] = log
    assert (deleted["actor"], deleted["target"]) == ("system:retention", ALICE_ID)
    assert ALICE["name"] not in orjson.dumps(deleted).decode()
    verify = (await client.get("/v1/audit-log/verify", headers=auth())).json()
    assert verify["valid"] is True


async def test_an_erasure_deletes_the_bundles_kept_about_the_person(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    bundle = await _export(client)
    request = ErasureRequested(erasure_id="er-1", contact_id=ALICE_ID, identifier_hashes=[])
    await consumers.audit.handle(wrap(request, subject=ALICE_ID, source="crm/gdpr"))
    assert (await _read(client, bundle["export_id"])).status_code == 404
    assert ALICE["name"] not in orjson.dumps(await _stored_bundles(store)).decode()
