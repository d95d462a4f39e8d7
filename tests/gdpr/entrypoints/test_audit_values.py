"""Audit values: who changed what from what to what; redacted on erasure; tampering detected."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from crm_gdpr.adapters.repositories import AUDIT_ENTRIES
from crm_gdpr.domain.audit import GENESIS_HASH, AuditDraft
from crm_gdpr.domain.audit_values import ValueChange
from crm_gdpr.entrypoints.consumers import GdprBuses
from crm_shared.events import ContactCreated, ContactUpdated, ErasureRequested, FieldChange
from crm_shared.events.contacts import ContactProfile
from crm_shared.storage import DocumentStore, Eq
from tests.conftest import auth
from tests.gdpr.fakes import outbox, wrap
from tests.gdpr.first_format import first_format_entries

NAME = "Carol Hidden"
EMAIL = "carol.private@example.org"
NEW_EMAIL = "carol.new@example.org"


async def _history(consumers: GdprBuses, contact_id: str = "c1") -> None:
    profile = ContactProfile(name=NAME, email=EMAIL)
    created = ContactCreated(contact_id=contact_id, version=1, source="manual", profile=profile)
    await consumers.audit.handle(wrap(created, subject=contact_id, actor="key:ops"))
    changes = {"email": FieldChange(before=EMAIL, after=NEW_EMAIL)}
    updated = ContactUpdated(contact_id=contact_id, version=2, changes=changes)
    await consumers.audit.handle(wrap(updated, subject=contact_id, actor="user:dana"))


async def _erase(consumers: GdprBuses, contact_id: str = "c1") -> None:
    request = ErasureRequested(erasure_id="er-1", contact_id=contact_id, identifier_hashes=[])
    await consumers.audit.handle(wrap(request, subject=contact_id, source="crm/gdpr"))


async def _entries(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/audit-log", params=params, headers=auth())
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _verify(client: httpx.AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/v1/audit-log/verify", headers=auth())).json()
    return body


async def _tamper(store: DocumentStore, seq: int, **changes: Any) -> None:
    async with store.transaction() as session:
        [entry] = await session.find(AUDIT_ENTRIES, tenant="acme", where=[Eq("seq", seq)])
        await session.replace(AUDIT_ENTRIES, {**entry, **changes})


async def test_an_entry_says_who_changed_which_field_from_what_to_what(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    await _history(consumers)
    created, updated = await _entries(client)
    assert created["actor"] == "key:ops"
    assert {c["field"]: c["after"] for c in created["changes"]} == {"name": NAME, "email": EMAIL}
    assert updated["actor"] == "user:dana"
    [change] = updated["changes"]
    assert (change["field"], change["before"], change["after"]) == ("email", EMAIL, NEW_EMAIL)
    # Format 2: one commitment to all the entry's values, none per value.
    assert (updated["format"], len(updated["values_commitment"])) == (2, 64)
    assert (change["before_commitment"], change["after_commitment"]) == (None, None)
    assert updated["redacted"] is False


async def test_erasure_redacts_the_values_keeps_the_commitments_and_the_chain_verifies(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    await _history(consumers)
    await _history(consumers, "c2")  # someone else: untouched
    before = await _entries(client, contact_id="c1")
    await _erase(consumers)

    after = await _entries(client, contact_id="c1")
    assert all(entry["redacted"] for entry in after[:2])
    assert [e["values_commitment"] for e in after[:2]] == [e["values_commitment"] for e in before]
    assert [e["changes"] for e in after[:2]] == [[], []]
    assert [e["fields"] for e in after[:2]] == [e["fields"] for e in before]
    async with store.reader() as session:
        stored = await session.find(AUDIT_ENTRIES, tenant="acme", where=[Eq("target", "c1")])
    for secret in (NAME, EMAIL, NEW_EMAIL):
        assert secret not in orjson.dumps(stored).decode()
        assert secret not in str(after)
    other = await _entries(client, contact_id="c2")
    assert other[0]["redacted"] is False
    assert await _verify(client) == {"valid": True, "checked": 5, "first_broken_seq": None}
    receipts = [e for _, _, e in await outbox(store) if e.type == "crm.gdpr.erasure.receipt.v1"]
    assert [(r.data["service"], r.data["contact_id"]) for r in receipts] == [("gdpr", "c1")]


async def test_a_changed_value_is_detected_at_its_entry(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    await _history(consumers)
    async with store.reader() as session:
        [entry] = await session.find(AUDIT_ENTRIES, tenant="acme", where=[Eq("seq", 2)])
    values = entry["values"]
    values["changes"][0][2] = "forged@example.org"
    await _tamper(store, 2, values=values)
    assert await _verify(client) == {"valid": False, "checked": 2, "first_broken_seq": 2}


async def test_a_changed_commitment_of_a_redacted_entry_is_detected_at_its_entry(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    await _history(consumers)
    await _erase(consumers)
    async with store.reader() as session:
        [entry] = await session.find(AUDIT_ENTRIES, tenant="acme", where=[Eq("seq", 1)])
    assert entry["values"] is None
    await _tamper(store, 1, values_commitment="0" * 64)
    assert await _verify(client) == {"valid": False, "checked": 1, "first_broken_seq": 1}


async def test_a_changed_actor_of_a_redacted_entry_is_detected(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    await _history(consumers)
    await _erase(consumers)
    await _tamper(store, 2, actor="key:someone-else")
    report = await _verify(client)
    assert (report["valid"], report["first_broken_seq"]) == (False, 2)


async def test_the_log_filters_by_actor_action_and_time(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    await _history(consumers)
    by_actor = await _entries(client, actor="user:dana")
    assert [e["action"] for e in by_actor] == ["crm.contacts.contact.updated.v1"]
    by_action = await _entries(client, action="crm.contacts.contact.created.v1")
    assert [e["actor"] for e in by_action] == ["key:ops"]
    everything = await _entries(client)
    first_at = everything[0]["at"]
    assert len(await _entries(client, since=first_at)) == 2
    assert await _entries(client, until=first_at) == []
    assert await _entries(client, since="2999-01-01T00:00:00Z") == []
    naive = await client.get(
        "/v1/audit-log", params={"since": "2025-01-01T00:00:00"}, headers=auth()
    )
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["loc"] == ["query", "since"]
    bad = await client.get("/v1/audit-log", params={"until": "yesterday"}, headers=auth())
    assert bad.status_code == 422


async def test_the_export_streams_every_entry_as_json_lines(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    await _history(consumers)
    await _history(consumers, "c2")
    response = await client.get("/v1/audit-log/export", headers=auth())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in response.text.splitlines()]
    assert [entry["seq"] for entry in lines] == [1, 2, 3, 4]
    only_dana = await client.get(
        "/v1/audit-log/export", params={"actor": "user:dana"}, headers=auth()
    )
    assert len(only_dana.text.splitlines()) == 2


async def test_an_imports_writes_answer_who_changed_what_with_the_values(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    """An imported contact's per-contact events, not only the batch summary, reach the log."""
    profile = ContactProfile(name=NAME, email=EMAIL)
    created = ContactCreated(
        contact_id="c9", version=1, source="import", profile=profile, import_job_id="job-7"
    )
    changes = {"email": FieldChange(before=EMAIL, after=NEW_EMAIL)}
    updated = ContactUpdated(contact_id="c9", version=2, changes=changes, import_job_id="job-8")
    await consumers.audit.handle(wrap(created, subject="c9", actor="import:job-7"))
    await consumers.audit.handle(wrap(updated, subject="c9", actor="import:job-8"))

    entries = await _entries(client, actor="import:job-8")
    [entry] = entries
    assert entry["action"] == "crm.contacts.contacts.imported.v1:updated"
    [change] = entry["changes"]
    assert (change["field"], change["before"], change["after"]) == ("email", EMAIL, NEW_EMAIL)
    [first] = await _entries(client, actor="import:job-7")
    assert {c["field"]: c["after"] for c in first["changes"]} == {"name": NAME, "email": EMAIL}
    assert (await _verify(client))["valid"] is True


async def test_entries_stored_before_format_2_verify_and_the_chain_continues_after_them(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    changes = (ValueChange("name", None, NAME), ValueChange("email", EMAIL, NEW_EMAIL))
    drafts = [
        AuditDraft(
            at="2026-01-01T00:00:00Z",
            actor="key:ops",
            action=ContactUpdated.event_type,
            target=target,
            fields=("name", "email"),
            event_id=f"old-{target}",
            changes=changes,
        )
        for target in ("c1", "c3")
    ]
    old = first_format_entries(drafts, tenant="acme", after_seq=0, prev_hash=GENESIS_HASH)
    async with store.transaction() as session:
        await session.insert_many(AUDIT_ENTRIES, old)
    await _history(consumers)  # format 2 entries, chained after the old ones
    assert await _verify(client) == {"valid": True, "checked": 4, "first_broken_seq": None}
    shown = await _entries(client, contact_id="c1")
    assert [e["format"] for e in shown] == [1, 2, 2]
    assert shown[0]["changes"][1]["before"] == EMAIL
    await _erase(consumers)  # redacts entries of both formats about c1
    redacted = await _entries(client, contact_id="c1")
    # The erasure's own entry (no values) last.
    assert [e["redacted"] for e in redacted] == [True, True, True, False]
    assert await _verify(client) == {"valid": True, "checked": 5, "first_broken_seq": None}
    async with store.reader() as session:
        stored = await session.find(AUDIT_ENTRIES, tenant="acme", where=[Eq("target", "c1")])
    assert NAME not in orjson.dumps(stored).decode()
