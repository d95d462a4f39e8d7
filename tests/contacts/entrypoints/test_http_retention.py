"""Soft-delete retention over HTTP: the purge after the retention period, with a moved clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from crm_contacts.adapters.deletions import RESERVED_TENANT
from crm_contacts.adapters.repository import DELETIONS
from crm_shared.clock import utcnow
from crm_shared.events import ErasureRequested
from crm_shared.events.contacts import ContactPurged
from crm_shared.topics import CONTACT_EVENTS
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope


def _days_later(harness: Harness, days: float) -> None:
    """Move the app's clock; soft deletions were stamped with the real time."""
    moment = utcnow() + timedelta(days=days)
    harness.app.state.clock = lambda: moment


async def _deleted(harness: Harness, key: str = EDITOR_KEY, **fields: str) -> str:
    contact = await harness.create(key=key, **fields)
    response = await harness.client.delete(f"/v1/contacts/{contact['id']}", headers=auth(key))
    assert response.status_code == 204
    return str(contact["id"])


async def _purge(harness: Harness, key: str = ADMIN_KEY) -> httpx.Response:
    return await harness.client.post("/v1/contacts/purge", headers=auth(key))


async def _restore(harness: Harness, contact_id: str) -> httpx.Response:
    return await harness.client.post(f"/v1/contacts/{contact_id}/restore", headers=auth(EDITOR_KEY))


async def _listed_with_deleted(harness: Harness) -> list[dict[str, Any]]:
    listed = await harness.client.get(
        "/v1/contacts", params={"include_deleted": "true"}, headers=auth(EDITOR_KEY)
    )
    return list(listed.json()["items"])


async def _deletion_notes(harness: Harness) -> int:
    async with harness.app.state.store.reader() as session:
        return int(await session.count(DELETIONS, tenant=RESERVED_TENANT))


async def test_purge_after_the_retention_period_removes_the_contact(harness: Harness) -> None:
    contact_id = await _deleted(harness)
    _days_later(harness, 31)
    response = await _purge(harness)
    assert (response.status_code, response.json()) == (200, {"purged": 1})
    assert await _listed_with_deleted(harness) == []
    fetched = await harness.client.get(f"/v1/contacts/{contact_id}", headers=auth(VIEWER_KEY))
    assert fetched.status_code == 404


async def test_restoring_a_purged_contact_is_404(harness: Harness) -> None:
    contact_id = await _deleted(harness)
    _days_later(harness, 31)
    await _purge(harness)
    assert (await _restore(harness, contact_id)).status_code == 404


async def test_purge_publishes_contact_purged_keyed_by_contact_id(harness: Harness) -> None:
    contact_id = await _deleted(harness)
    [deleted] = await _listed_with_deleted(harness)
    _days_later(harness, 31)
    await _purge(harness)
    [event] = await harness.outbox(ContactPurged.event_type)
    assert (event.topic, event.key) == (CONTACT_EVENTS.name, contact_id)
    assert event.data == {"contact_id": contact_id, "deleted_at": deleted["deleted_at"]}
    assert event.envelope["tenant"] == "acme"


async def test_contact_within_the_retention_period_is_kept_and_restorable(
    harness: Harness,
) -> None:
    contact_id = await _deleted(harness)
    _days_later(harness, 29)
    assert (await _purge(harness)).json() == {"purged": 0}
    assert (await _restore(harness, contact_id)).status_code == 200
    assert await harness.outbox(ContactPurged.event_type) == []


async def test_a_restored_contact_is_not_purged_later(harness: Harness) -> None:
    contact_id = await _deleted(harness)
    await _restore(harness, contact_id)
    assert await _deletion_notes(harness) == 0
    _days_later(harness, 31)
    assert (await _purge(harness)).json() == {"purged": 0}
    fetched = await harness.client.get(f"/v1/contacts/{contact_id}", headers=auth(VIEWER_KEY))
    assert fetched.status_code == 200


async def test_live_contacts_are_never_purged(harness: Harness) -> None:
    contact = await harness.create()
    _days_later(harness, 365)
    assert (await _purge(harness)).json() == {"purged": 0}
    fetched = await harness.client.get(f"/v1/contacts/{contact['id']}", headers=auth(VIEWER_KEY))
    assert fetched.status_code == 200


async def test_purge_removes_only_the_callers_tenant(harness: Harness) -> None:
    await _deleted(harness)
    other_id = await _deleted(harness, key=OTHER_TENANT_KEY, name="Globex person")
    _days_later(harness, 31)
    assert (await _purge(harness, key=OTHER_TENANT_KEY)).json() == {"purged": 1}
    assert (await _purge(harness)).json() == {"purged": 1}
    [globex] = [e for e in await harness.outbox(ContactPurged.event_type) if e.key == other_id]
    assert globex.envelope["tenant"] == "globex"


async def test_purge_needs_the_admin_role(harness: Harness) -> None:
    assert (await _purge(harness, key=EDITOR_KEY)).status_code == 403
    assert (await harness.client.post("/v1/contacts/purge")).status_code == 401


async def test_an_erased_deleted_contact_keeps_its_tombstone(harness: Harness) -> None:
    contact_id = await _deleted(harness, email="ada@example.com")
    request = ErasureRequested(erasure_id="er-1", contact_id=contact_id, identifier_hashes=[])
    await harness.handle(envelope(request))
    _days_later(harness, 31)
    assert (await _purge(harness)).json() == {"purged": 0}
    fetched = await harness.client.get(f"/v1/contacts/{contact_id}", headers=auth(VIEWER_KEY))
    assert fetched.status_code == 410
    assert await _deletion_notes(harness) == 0


async def test_a_contact_deleted_again_is_purged_from_its_latest_deletion(
    harness: Harness,
) -> None:
    contact_id = await _deleted(harness)
    await _restore(harness, contact_id)
    response = await harness.client.delete(f"/v1/contacts/{contact_id}", headers=auth(EDITOR_KEY))
    assert response.status_code == 204
    assert await _deletion_notes(harness) == 1
    _days_later(harness, 31)
    assert (await _purge(harness)).json() == {"purged": 1}
    assert await _deletion_notes(harness) == 0
