"""The state topic: every change publishes the contact as it now is; a tombstone once it is gone.

Written in the change's own transaction (the outbox), whatever the path: API, import batch,
merge, erasure.
"""

from __future__ import annotations

from typing import Any

from crm_shared.events import ContactState, ErasureRequested
from crm_shared.topics import CONTACT_STATE
from tests.conftest import EDITOR_KEY, auth
from tests.contacts.helpers import Harness, envelope, import_batch

STATE = ContactState.event_type


async def _states(harness: Harness, contact_id: str) -> list[dict[str, Any]]:
    return [e.data for e in await harness.outbox(STATE) if e.key == contact_id]


async def test_every_change_publishes_the_current_profile_keyed_by_the_contact(
    harness: Harness,
) -> None:
    contact = await harness.create(name="Ada Lovelace", email="ada@example.com")
    patched = await harness.client.patch(
        f"/v1/contacts/{contact['id']}", json={"company": "Engines"}, headers=auth(EDITOR_KEY)
    )
    assert patched.status_code == 200, patched.text
    deleted = await harness.client.delete(f"/v1/contacts/{contact['id']}", headers=auth(EDITOR_KEY))
    assert deleted.status_code == 204

    states = await _states(harness, contact["id"])
    assert [s["version"] for s in states] == [1, 2, 3]
    assert states[0]["profile"]["email"] == "ada@example.com"
    assert states[1]["profile"]["company"] == "Engines"
    assert states[2]["deleted_at"] is not None  # soft-deleted: still restorable, still there
    [sample] = [e for e in await harness.outbox(STATE) if e.key == contact["id"]][:1]
    assert sample.topic == CONTACT_STATE.name


async def test_an_import_batch_publishes_each_contact_it_wrote(harness: Harness) -> None:
    rows = [{"name": "Grace", "email": "grace@example.com"}, {"name": "Alan", "email": "a@x.io"}]
    await harness.handle(envelope(import_batch(rows, policy="update")))

    states = await harness.outbox(STATE)
    assert sorted(s.data["profile"]["name"] for s in states) == ["Alan", "Grace"]
    assert all(s.key == s.data["contact_id"] for s in states)


async def test_an_erased_contact_gets_a_tombstone_and_no_profile(harness: Harness) -> None:
    contact = await harness.create(name="Ada Lovelace", email="ada@example.com")
    erasure = ErasureRequested(erasure_id="er-1", contact_id=contact["id"], identifier_hashes=[])
    await harness.handle(envelope(erasure))

    assert await harness.tombstones() == [(CONTACT_STATE.name, contact["id"])]
    assert [s["version"] for s in await _states(harness, contact["id"])] == [1]


async def test_a_merged_away_contact_gets_a_tombstone_and_the_primary_its_new_profile(
    harness: Harness,
) -> None:
    primary = await harness.create(name="Ada Lovelace", email="ada@example.com")
    duplicate = await harness.create(name="Ada L.", email="ada.l@example.com")
    merged = await harness.client.post(
        "/v1/merges",
        json={"primary_id": primary["id"], "duplicate_ids": [duplicate["id"]]},
        headers=auth(EDITOR_KEY),
    )
    assert merged.status_code in (200, 201), merged.text

    assert (CONTACT_STATE.name, duplicate["id"]) in await harness.tombstones()
    latest = (await _states(harness, primary["id"]))[-1]
    assert "ada.l@example.com" in latest["profile"]["emails"]
