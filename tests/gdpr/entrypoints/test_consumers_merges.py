"""Merges in the gdpr service: consents move as new ledger entries, audit trails follow."""

from __future__ import annotations

from typing import Any

import httpx

from crm_gdpr.entrypoints.consumers import GdprBuses
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactDeleted, ContactsMerged, MergeUndone
from crm_shared.events.contacts import ContactProfile
from crm_shared.storage import DocumentStore
from crm_shared.topics import GDPR_EVENTS
from tests.conftest import EDITOR_KEY, auth
from tests.gdpr.fakes import ALICE_ID, FakeUpstream, outbox, wrap

DUP_ID = "0190a000-0000-7000-8000-000000000002"
MERGE_ID = "0190a000-0000-7000-8000-0000000000aa"


def _copies(*, undo: bool = False, version: int = 4) -> list[EventEnvelope]:
    model = MergeUndone if undo else ContactsMerged
    return [
        wrap(
            model(
                contact_id=contact_id,
                version=version,
                merge_id=MERGE_ID,
                primary_id=ALICE_ID,
                duplicate_ids=[DUP_ID],
                profile=ContactProfile(name="Alice Example"),
            ),
            subject=contact_id,
        )
        for contact_id in (ALICE_ID, DUP_ID)
    ]


async def _deliver(consumers: GdprBuses, envelopes: list[EventEnvelope]) -> None:
    for envelope in envelopes:
        await consumers.audit.handle(envelope)


async def _consent(client: httpx.AsyncClient, contact_id: str, **body: Any) -> None:
    response = await client.post(
        f"/v1/contacts/{contact_id}/consents", json=body, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 201, response.text


async def _purposes(client: httpx.AsyncClient, contact_id: str) -> dict[str, dict[str, Any]]:
    response = await client.get(f"/v1/contacts/{contact_id}/consents", headers=auth(EDITOR_KEY))
    assert response.status_code == 200, response.text
    return {p["purpose"]: p for p in response.json()["purposes"]}


def _with_duplicate(upstream: FakeUpstream) -> None:
    upstream.add_contact("acme", {"id": DUP_ID, "name": "Alice E.", "version": 1})


async def test_a_merge_copies_the_duplicates_consents_onto_the_primary_as_new_entries(
    client: httpx.AsyncClient, consumers: GdprBuses, upstream: FakeUpstream
) -> None:
    _with_duplicate(upstream)
    await _consent(client, DUP_ID, purpose="newsletter", status="granted", notice_version="v2")

    await _deliver(consumers, _copies())

    newsletter = (await _purposes(client, ALICE_ID))["newsletter"]
    assert newsletter["status"] == "granted"
    [entry] = newsletter["history"]
    assert (entry["merge_id"], entry["merged_from"]) == (MERGE_ID, DUP_ID)
    assert entry["notice_version"] == "v2" and entry["source"] == f"merge:{MERGE_ID}"
    # The duplicate's own ledger is kept as it was.
    assert len((await _purposes(client, DUP_ID))["newsletter"]["history"]) == 1


async def test_the_latest_decision_wins_whichever_contact_it_was_made_on(
    client: httpx.AsyncClient, consumers: GdprBuses, upstream: FakeUpstream
) -> None:
    _with_duplicate(upstream)
    await _consent(client, DUP_ID, purpose="newsletter", status="granted")
    await _consent(client, ALICE_ID, purpose="newsletter", status="withdrawn")
    await _consent(client, ALICE_ID, purpose="offers", status="granted")
    await _consent(client, DUP_ID, purpose="offers", status="withdrawn")

    await _deliver(consumers, _copies())

    purposes = await _purposes(client, ALICE_ID)
    assert purposes["newsletter"]["status"] == "withdrawn"  # the primary's later decision
    assert len(purposes["newsletter"]["history"]) == 1
    assert purposes["offers"]["status"] == "withdrawn"  # the duplicate's later decision


async def test_undo_goes_back_to_the_primarys_own_decision_or_to_withdrawn(
    client: httpx.AsyncClient,
    consumers: GdprBuses,
    upstream: FakeUpstream,
    store: DocumentStore,
) -> None:
    _with_duplicate(upstream)
    await _consent(client, ALICE_ID, purpose="offers", status="withdrawn")
    await _consent(client, DUP_ID, purpose="offers", status="granted")
    await _consent(client, DUP_ID, purpose="newsletter", status="granted")
    await _deliver(consumers, _copies())

    await _deliver(consumers, _copies(undo=True, version=5))

    purposes = await _purposes(client, ALICE_ID)
    assert purposes["offers"]["status"] == "withdrawn"
    assert purposes["newsletter"]["status"] == "withdrawn"  # the primary never granted it
    assert [e["source"] for e in purposes["newsletter"]["history"]] == [
        f"merge:{MERGE_ID}",
        f"merge-undone:{MERGE_ID}",
    ]
    changed = [env for topic, _, env in await outbox(store) if topic == GDPR_EVENTS.name]
    statuses = [(e.data["purpose"], e.data["status"]) for e in changed[-4:]]
    assert statuses == [
        ("newsletter", "granted"),
        ("offers", "granted"),
        ("newsletter", "withdrawn"),
        ("offers", "withdrawn"),
    ]


async def test_a_redelivered_merge_moves_nothing_twice(
    client: httpx.AsyncClient, consumers: GdprBuses, upstream: FakeUpstream
) -> None:
    _with_duplicate(upstream)
    await _consent(client, DUP_ID, purpose="newsletter", status="granted")
    copies = _copies()

    await _deliver(consumers, [*copies, *copies])

    assert len((await _purposes(client, ALICE_ID))["newsletter"]["history"]) == 1


async def test_the_primarys_audit_trail_includes_the_merged_contacts_until_undone(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    await consumers.audit.handle(wrap(ContactDeleted(contact_id=DUP_ID, version=2)))
    await _deliver(consumers, _copies())

    def targets(response: httpx.Response) -> list[tuple[str, str]]:
        return [(e["target"], e["action"]) for e in response.json()["items"]]

    trail = await client.get("/v1/audit-log", params={"contact_id": ALICE_ID}, headers=auth())
    assert targets(trail) == [
        (DUP_ID, ContactDeleted.event_type),
        (ALICE_ID, ContactsMerged.event_type),
        (DUP_ID, ContactsMerged.event_type),
    ]

    await _deliver(consumers, _copies(undo=True, version=5))

    trail = await client.get("/v1/audit-log", params={"contact_id": ALICE_ID}, headers=auth())
    assert targets(trail) == [
        (ALICE_ID, ContactsMerged.event_type),
        (ALICE_ID, MergeUndone.event_type),
    ]


async def test_a_moved_consent_is_announced_on_its_own_channel(
    client: httpx.AsyncClient, consumers: GdprBuses, upstream: FakeUpstream, store: DocumentStore
) -> None:
    _with_duplicate(upstream)
    await _consent(client, DUP_ID, purpose="newsletter", status="granted", channel="sms")

    await _deliver(consumers, _copies())

    moved = [
        env.data
        for topic, _, env in await outbox(store)
        if topic == GDPR_EVENTS.name
        and env.type == "crm.gdpr.consent.changed.v1"
        and env.data["contact_id"] == ALICE_ID
    ]
    # The contacts service keeps consents from these events: "any" would grant every channel.
    assert [(d["purpose"], d["channel"], d["source"]) for d in moved] == [
        ("newsletter", "sms", f"merge:{MERGE_ID}")
    ]
