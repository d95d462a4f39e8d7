"""Rewrite jobs on every store adapter: bounded batches, per-contact events with the job as the
actor, per-row errors (every one kept and paged), edits made during the job kept, a resume that
rewrites each contact once, a failed job retried, and a tag's name refused while a delete job
still removes it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import orjson
import pytest

from crm_contacts.adapters.bulk import BULK_SPECS
from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_contacts.adapters.rewrite_jobs import JOB_SPECS
from crm_contacts.domain.commands import CreateContact, UpdateContact
from crm_contacts.domain.contact import new_contact, refresh_derived
from crm_contacts.domain.field_definitions import new_definition
from crm_contacts.domain.rewrite_jobs import MAX_ERRORS_KEPT
from crm_contacts.service_layer import custom_fields, rewrite_plans, tag_rules, tags
from crm_contacts.service_layer.bulk_actions import get_bulk_action, queue_bulk_action
from crm_contacts.service_layer.bulk_runner import snapshot
from crm_contacts.service_layer.contact_rewrites import rewritten
from crm_contacts.service_layer.handlers import create_contact, update_contact
from crm_contacts.service_layer.rewrite_jobs import (
    get_job,
    job_errors,
    retry_job,
    run_batch,
    run_job,
    start_job,
)
from crm_contacts.service_layer.search import search_contacts
from crm_contacts.settings import ContactsSettings
from crm_shared.envelope import EventEnvelope
from crm_shared.events import EVENT_TYPES, ContactState, ContactUpdated
from crm_shared.filters import ContactFilter
from crm_shared.ids import new_id
from crm_shared.problems import Conflict, NotFound
from crm_shared.storage import DocumentStore, Session
from crm_shared.storage.delegating import DelegatingStore
from crm_shared.storage.memory import MemoryStore
from crm_shared.storage.sqlite import SqliteStore
from tests.shared.storage.conftest import mongodb_uri  # noqa: F401 (the fixture, imported)

TENANT = "acme"
USER = "key:test"
SPECS = (*COLLECTION_SPECS, *BULK_SPECS, *JOB_SPECS)
ADAPTERS = ["memory", "sqlite", "mongodb", "mongodb-double"]


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DocumentStore]:
    """The contacts collections on each adapter (MongoDB when MONGODB_URI names a replica set)."""
    opened: DocumentStore
    if request.param == "memory":
        opened = MemoryStore()
    elif request.param == "sqlite":
        opened = SqliteStore(tmp_path / "contacts.db")
    else:
        from crm_shared.storage.mongo import MongoStore

        if request.param == "mongodb-double":
            from tests.shared.storage.mongo_double import MongoDouble

            if request.node.get_closest_marker("needs_transactions") is not None:
                pytest.skip("the MongoDB double has no transactions: a batch cannot roll back")

            opened = MongoStore("mongodb://double", "crm_jobs", client=MongoDouble())
        else:  # MONGODB_URI, or a replica set in Docker, as the store contract suite does
            uri = request.getfixturevalue("mongodb_uri")
            opened = MongoStore(uri, f"crm_jobs_{uuid.uuid4().hex[:12]}")
    await opened.start(SPECS)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def settings(platform_env: dict[str, str]) -> ContactsSettings:
    """The service's settings over the test environment."""
    return ContactsSettings()


async def _seed(
    store: DocumentStore, settings: ContactsSettings, count: int, **fields: Any
) -> list[dict[str, Any]]:
    return [
        await create_contact(
            store,
            CreateContact(fields={"name": f"Person {n}", **fields}),
            tenant=TENANT,
            actor=USER,
            settings=settings,
        )
        for n in range(count)
    ]


async def _contact(store: DocumentStore, contact_id: str) -> dict[str, Any]:
    async with store.reader() as session:
        doc = await session.get("contacts", tenant=TENANT, id=contact_id)
    assert doc is not None
    return doc


async def _updates(store: DocumentStore) -> list[dict[str, Any]]:
    """ContactUpdated envelopes waiting in the outbox, each with its record key."""
    pending = await store.pending_events(100_000)
    envelopes = [{**orjson.loads(p.value), "key": (p.key or b"").decode()} for p in pending]
    return [e for e in envelopes if e["type"] == ContactUpdated.event_type]


async def _vip_tag(store: DocumentStore) -> dict[str, Any]:
    return await tags.create_tag(store, tenant=TENANT, name="VIP", group=None, color=None)


async def test_a_rename_runs_in_batches_with_an_event_per_contact(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    tag = await _vip_tag(store)
    carriers = await _seed(store, settings, 25, tags=["VIP"])
    others = await _seed(store, settings, 3, tags=["Partner"])
    _, job = await tags.update_tag(store, tag["id"], {"name": "Gold"}, tenant=TENANT, actor=USER)
    assert job is not None
    await run_job(store, job["id"], TENANT, batch_size=10)
    done = await get_job(store, job["id"], tenant=TENANT)
    assert (done["status"], done["total"], done["done"], done["changed"]) == (
        "completed",
        25,
        25,
        25,
    )
    assert done["started_at"] and done["finished_at"]
    for contact in carriers:
        stored = await _contact(store, contact["id"])
        assert (stored["tags"], stored["version"]) == (["Gold", "source:manual"], 2)
    assert [(await _contact(store, c["id"]))["version"] for c in others] == [1, 1, 1]
    events = await _updates(store)
    assert sorted(e["key"] for e in events) == sorted(c["id"] for c in carriers)
    assert {e["actor"] for e in events} == {f"job:{job['id']}"}


async def test_running_a_completed_job_again_changes_nothing(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    tag = await _vip_tag(store)
    carriers = await _seed(store, settings, 12, tags=["VIP"])
    _, job = await tags.update_tag(store, tag["id"], {"name": "Gold"}, tenant=TENANT, actor=USER)
    assert job is not None
    await run_job(store, job["id"], TENANT, batch_size=5)
    await run_job(store, job["id"], TENANT, batch_size=5)  # e.g. a second replica's runner
    assert [(await _contact(store, c["id"]))["version"] for c in carriers] == [2] * 12
    assert len(await _updates(store)) == 12


async def test_an_interrupted_job_continues_from_its_last_committed_batch(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    tag = await _vip_tag(store)
    carriers = await _seed(store, settings, 20, tags=["VIP"])
    queued = await tags.delete_tag(store, tag["id"], tenant=TENANT, actor=USER)
    await start_job(store, queued["id"], TENANT)
    assert await run_batch(store, queued["id"], TENANT, batch_size=8)
    mid = await get_job(store, queued["id"], tenant=TENANT)
    assert (mid["status"], mid["done"], mid["cursor"]) == ("running", 8, carriers[7]["id"])
    # The service stops here; the restarted runner resumes the same job from its cursor.
    await run_job(store, queued["id"], TENANT, batch_size=8)
    assert (await get_job(store, queued["id"], tenant=TENANT))["done"] == 20
    versions = [(await _contact(store, c["id"]))["version"] for c in carriers]
    assert versions == [2] * 20
    assert len(await _updates(store)) == 20


async def test_an_edit_made_during_the_job_is_kept(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    tag = await _vip_tag(store)
    carriers = await _seed(store, settings, 10, tags=["VIP"])
    _, job = await tags.update_tag(store, tag["id"], {"name": "Gold"}, tenant=TENANT, actor=USER)
    assert job is not None
    await start_job(store, job["id"], TENANT)
    await run_batch(store, job["id"], TENANT, batch_size=4)
    late = carriers[8]["id"]  # not reached yet: a user edits it between two batches
    await update_contact(
        store,
        UpdateContact(contact_id=late, fields={"company": "Initech"}),
        tenant=TENANT,
        actor=USER,
        settings=settings,
    )
    await run_job(store, job["id"], TENANT, batch_size=4)
    stored = await _contact(store, late)
    assert (stored["company"], stored["tags"][0], stored["version"]) == ("Initech", "Gold", 3)


async def test_a_filter_on_a_renamed_tag_finds_contacts_not_yet_rewritten(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    tag = await _vip_tag(store)
    carriers = await _seed(store, settings, 6, tags=["VIP"])
    _, job = await tags.update_tag(store, tag["id"], {"name": "Gold"}, tenant=TENANT, actor=USER)
    assert job is not None
    await start_job(store, job["id"], TENANT)
    await run_batch(store, job["id"], TENANT, batch_size=3)  # half of them renamed

    async def found(**criteria: Any) -> set[str]:
        page = await search_contacts(
            store, tenant=TENANT, criteria=ContactFilter(**criteria), secret=b"s", limit=50
        )
        return {doc["id"] for doc in page.items}

    everyone = {c["id"] for c in carriers}
    assert await found(tag=["gold"]) == everyone
    assert await found(tag_any=["Gold", "Other"]) == everyone
    assert await found(tag_none=["Gold"]) == set()
    await run_job(store, job["id"], TENANT, batch_size=3)
    assert await found(tag=["gold"]) == everyone
    assert await found(tag=["vip"]) == set()  # the old name is gone once the job completed


async def test_a_field_change_lists_contacts_whose_value_does_not_convert(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    definition = new_definition(key="seats", label="Seats", type="text")
    await custom_fields.create_definition(store, definition, tenant=TENANT, actor=USER)
    good = await _seed(store, settings, 4, custom_fields={"seats": "12"})
    bad = await _seed(store, settings, 2, custom_fields={"seats": "many"})
    _, job = await custom_fields.update_definition(
        store, "seats", {"type": "number"}, tenant=TENANT, actor=USER
    )
    assert job is not None
    await run_job(store, job["id"], TENANT, batch_size=3)
    done = await get_job(store, job["id"], tenant=TENANT)
    assert (done["status"], done["changed"], done["failed"]) == ("completed", 4, 2)
    assert [e["contact_id"] for e in done["errors"]] == [c["id"] for c in bad]
    assert all("many" not in e["reason"] for e in done["errors"])
    assert [(await _contact(store, c["id"]))["custom_fields"] for c in good] == [{"seats": 12}] * 4
    assert (await _contact(store, bad[0]["id"]))["custom_fields"] == {"seats": "many"}


async def test_a_field_purge_removes_values_from_live_and_deleted_contacts(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    definition = new_definition(key="plan", label="Plan", type="text")
    await custom_fields.create_definition(store, definition, tenant=TENANT, actor=USER)
    holders = await _seed(store, settings, 5, custom_fields={"plan": "pro"})
    await _seed(store, settings, 2)
    job = await custom_fields.delete_definition(
        store, "plan", purge_values=True, tenant=TENANT, actor=USER
    )
    await run_job(store, job["id"], TENANT, batch_size=2)
    done = await get_job(store, job["id"], tenant=TENANT)
    assert (done["total"], done["changed"]) == (5, 5)
    assert [(await _contact(store, c["id"]))["custom_fields"] for c in holders] == [{}] * 5


async def test_a_bulk_selection_on_a_renamed_tag_takes_contacts_not_yet_rewritten(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    tag = await _vip_tag(store)
    await _seed(store, settings, 6, tags=["VIP"])
    _, job = await tags.update_tag(store, tag["id"], {"name": "Gold"}, tenant=TENANT, actor=USER)
    assert job is not None
    await start_job(store, job["id"], TENANT)
    await run_batch(store, job["id"], TENANT, batch_size=2)
    bulk = await queue_bulk_action(
        store,
        tenant=TENANT,
        actor=USER,
        is_admin=True,
        action="add_tags",
        ids=None,
        criteria=ContactFilter(tag=["Gold"]),
        params={"tags": ["Wave"]},
    )
    await snapshot(store, bulk, chunk_size=100)
    assert (await get_bulk_action(store, bulk["id"], tenant=TENANT))["total"] == 6


async def _all_errors(store: DocumentStore, job_id: str, page: int) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    after = None
    while True:
        docs, more = await job_errors(store, job_id, tenant=TENANT, after=after, limit=page)
        seen += docs
        if not more:
            return seen
        after = docs[-1]["position"]


async def test_every_error_of_a_job_is_kept_and_paged_in_the_order_found(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    definition = new_definition(key="seats", label="Seats", type="text")
    await custom_fields.create_definition(store, definition, tenant=TENANT, actor=USER)
    bad = await _seed(store, settings, MAX_ERRORS_KEPT + 7, custom_fields={"seats": "many"})
    good = await _seed(store, settings, 3, custom_fields={"seats": "12"})
    _, job = await custom_fields.update_definition(
        store, "seats", {"type": "number"}, tenant=TENANT, actor=USER
    )
    assert job is not None
    await run_job(store, job["id"], TENANT, batch_size=25)
    done = await get_job(store, job["id"], tenant=TENANT)
    assert (done["failed"], done["changed"], len(done["errors"])) == (107, 3, MAX_ERRORS_KEPT)
    errors = await _all_errors(store, job["id"], page=10)
    assert [e["contact_id"] for e in errors] == [c["id"] for c in bad]  # all, none twice
    assert all("many" not in e["reason"] and "seats" in e["reason"] for e in errors)
    assert good[0]["id"] not in {e["contact_id"] for e in errors}


async def test_errors_of_another_tenants_job_are_not_found(store: DocumentStore) -> None:
    tag = await tags.create_tag(store, tenant=TENANT, name="VIP", group=None, color=None)
    job = await tags.delete_tag(store, tag["id"], tenant=TENANT, actor=USER)
    with pytest.raises(NotFound):
        await job_errors(store, job["id"], tenant="other", after=None, limit=10)
    assert await job_errors(store, job["id"], tenant=TENANT, after=None, limit=10) == ([], False)


def _failing_on_batch(monkeypatch: pytest.MonkeyPatch, failing: int) -> None:
    """Batch number `failing` (1-based) of the next job stops on an internal error."""
    real = rewrite_plans.plan_for
    calls = {"n": 0}

    async def plan_for(session: Any, job: Any) -> rewrite_plans.RewritePlan:
        plan = await real(session, job)
        calls["n"] += 1
        if calls["n"] == failing + 1:  # start_job builds the plan once to count
            raise RuntimeError("disk on fire")
        return plan

    monkeypatch.setattr("crm_contacts.service_layer.rewrite_jobs.plan_for", plan_for)


async def test_a_failed_job_retried_resumes_after_its_last_committed_batch(
    store: DocumentStore, settings: ContactsSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = await tags.create_tag(store, tenant=TENANT, name="VIP", group=None, color=None)
    carriers = await _seed(store, settings, 23, tags=["VIP"])
    _, job = await tags.update_tag(store, tag["id"], {"name": "Gold"}, tenant=TENANT, actor=USER)
    assert job is not None
    _failing_on_batch(monkeypatch, failing=3)
    await run_job(store, job["id"], TENANT, batch_size=5)
    failed = await get_job(store, job["id"], tenant=TENANT)
    assert (failed["status"], failed["done"], failed["retries"]) == ("failed", 10, 0)
    monkeypatch.undo()

    again = await retry_job(store, job["id"], tenant=TENANT)
    assert (again["status"], again["error"], again["retries"]) == ("running", None, 1)
    await run_job(store, job["id"], TENANT, batch_size=5)
    done = await get_job(store, job["id"], tenant=TENANT)
    assert (done["status"], done["done"], done["changed"], done["total"]) == (
        "completed",
        23,
        23,
        23,
    )
    assert [(await _contact(store, c["id"]))["version"] for c in carriers] == [2] * 23
    events = await _updates(store)
    assert sorted(e["key"] for e in events) == sorted(c["id"] for c in carriers)  # once each


async def test_only_a_failed_job_can_be_retried(store: DocumentStore) -> None:
    tag = await tags.create_tag(store, tenant=TENANT, name="VIP", group=None, color=None)
    job = await tags.delete_tag(store, tag["id"], tenant=TENANT, actor=USER)
    with pytest.raises(Conflict, match="queued"):
        await retry_job(store, job["id"], tenant=TENANT)
    await run_job(store, job["id"], TENANT, batch_size=5)
    with pytest.raises(Conflict, match="completed"):
        await retry_job(store, job["id"], tenant=TENANT)
    with pytest.raises(NotFound):
        await retry_job(store, job["id"], tenant="other")


async def test_a_name_being_deleted_by_a_job_is_refused_until_the_job_ends(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    vip = await tags.create_tag(store, tenant=TENANT, name="VIP", group=None, color=None)
    lead = await tags.create_tag(store, tenant=TENANT, name="Lead", group=None, color=None)
    await _seed(store, settings, 3, tags=["VIP"])
    job = await tags.delete_tag(store, vip["id"], tenant=TENANT, actor=USER)
    with pytest.raises(Conflict, match=job["id"]) as created:
        await tags.create_tag(store, tenant=TENANT, name="vip", group=None, color=None)
    assert created.value.extra == {"job_id": job["id"]}
    with pytest.raises(Conflict, match=job["id"]):
        await tags.update_tag(store, lead["id"], {"name": "VÍP"}, tenant=TENANT, actor=USER)
    with pytest.raises(Conflict, match=job["id"]):
        await tag_rules.create_rule(
            store, tenant=TENANT, name="big", tag="VIP", criteria={}, actor=USER
        )
    await run_job(store, job["id"], TENANT, batch_size=2)
    again = await tags.create_tag(store, tenant=TENANT, name="VIP", group=None, color=None)
    assert again["name"] == "VIP"


def test_a_tag_or_value_rewrite_refreshes_what_follows_from_it_as_a_full_refresh_would() -> None:
    doc = refresh_derived(
        new_contact(
            contact_id=new_id(),
            tenant=TENANT,
            profile={"name": "Øystein Ødegaard", "email": "o@fjord.example", "tags": ["VIP"]},
            source="manual",
            now="2026-11-30T00:00:00Z",
        )
    )
    for fields in ({"tags": ["Gold", "Ærø"]}, {"custom_fields": {"seats": 3}}):
        change = rewritten(doc, fields, now="2026-11-30T00:00:01Z")
        assert change is not None
        updated = change.doc
        assert updated == refresh_derived(dict(updated))  # nothing derived left stale
        assert updated["version"] == doc["version"] + 1


async def test_a_job_from_before_error_records_pages_the_errors_it_kept(
    store: DocumentStore,
) -> None:
    tag = await _vip_tag(store)
    job = await tags.delete_tag(store, tag["id"], tenant=TENANT, actor=USER)
    kept = [{"contact_id": f"c{n}", "reason": "custom_fields.seats: ..."} for n in range(5)]
    async with store.transaction() as session:  # as the earlier code stored it: no records
        await session.replace("jobs", {**job, "errors": kept, "failed": 5, "version": 2})
    first, more = await job_errors(store, job["id"], tenant=TENANT, after=None, limit=3)
    assert ([e["contact_id"] for e in first], more) == (["c0", "c1", "c2"], True)
    rest, more = await job_errors(store, job["id"], tenant=TENANT, after=2, limit=3)
    assert ([e["contact_id"] for e in rest], more) == (["c3", "c4"], False)


class _StaleFirstPage(DelegatingStore):
    """Hands the job's first page of contacts out with one contact as it was before a user's
    edit: what a batch meets on MongoDB when the edit commits between its read and its write."""

    def __init__(self, inner: DocumentStore, stale: dict[str, Any] | None) -> None:
        super().__init__(inner)
        self.stale: dict[str, Any] | None = stale
        self.transactions = 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        self.transactions += 1
        async with self.inner.transaction() as session:
            yield cast(Session, _StaleReads(session, self))


class _StaleReads:
    def __init__(self, session: Session, store: _StaleFirstPage) -> None:
        self._session, self._store = session, store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def find(self, collection: str, **kwargs: Any) -> list[dict[str, Any]]:
        found = await self._session.find(collection, **kwargs)
        stale = self._store.stale
        if collection == "contacts" and stale is not None:
            self._store.stale = None
            found = [stale if doc["id"] == stale["id"] else doc for doc in found]
        return found


@pytest.mark.needs_transactions
async def test_a_contact_edited_between_a_batchs_read_and_write_is_read_again_not_overwritten(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    tag = await _vip_tag(store)
    carriers = await _seed(store, settings, 6, tags=["VIP"])
    edited = carriers[2]["id"]
    before_edit = await _contact(store, edited)
    await update_contact(
        store,
        UpdateContact(contact_id=edited, fields={"company": "Initech"}),
        tenant=TENANT,
        actor=USER,
        settings=settings,
    )
    _, job = await tags.update_tag(store, tag["id"], {"name": "Gold"}, tenant=TENANT, actor=USER)
    assert job is not None
    racing = _StaleFirstPage(store, before_edit)
    await run_job(racing, job["id"], TENANT, batch_size=10)
    assert racing.stale is None and racing.transactions >= 3  # start, the refused batch, again
    stored = await _contact(store, edited)
    assert (stored["company"], stored["tags"][0], stored["version"]) == ("Initech", "Gold", 3)
    done = await get_job(store, job["id"], tenant=TENANT)
    assert (done["status"], done["changed"]) == ("completed", 6)
    versions = {e["key"]: e["data"]["version"] for e in await _updates(store) if e["actor"] != USER}
    assert versions == {c["id"]: 3 if c["id"] == edited else 2 for c in carriers}


async def test_a_jobs_events_and_states_are_what_their_models_give_each_state_once(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    tag = await _vip_tag(store)
    carriers = await _seed(store, settings, 4, tags=["VIP"], company="Ærø Åb")
    await store.mark_events_sent([p.outbox_id for p in await store.pending_events(1000)])
    _, job = await tags.update_tag(store, tag["id"], {"name": "Gold"}, tenant=TENANT, actor=USER)
    assert job is not None
    await run_job(store, job["id"], TENANT, batch_size=3)
    pending = await store.pending_events(1000)
    job_records = [
        EventEnvelope.from_bytes(p.value)
        for p in pending
        if p.value and EventEnvelope.from_bytes(p.value).actor == f"job:{job['id']}"
    ]
    kinds = [e.type for e in job_records]
    assert kinds.count(ContactUpdated.event_type) == 4
    assert kinds.count(ContactState.event_type) == 4  # written by the job, none read back
    for envelope in job_records:
        model = EVENT_TYPES[envelope.type].model_validate(envelope.data)
        wrapped = EventEnvelope.wrap(
            model,
            source=envelope.source,
            tenant=envelope.tenant,
            subject=envelope.subject,
            actor=envelope.actor,
            traceparent=envelope.traceparent,
            time=envelope.time,
        ).model_copy(update={"id": envelope.id})
        assert envelope.to_bytes() == wrapped.to_bytes()
    states = {
        e.data["contact_id"]: e.data for e in job_records if e.type == ContactState.event_type
    }
    for contact in carriers:
        stored = await _contact(store, contact["id"])
        assert states[contact["id"]]["version"] == stored["version"] == 2
        assert states[contact["id"]]["profile"]["tags"] == stored["tags"]


async def test_a_time_budget_shrinks_the_batches_and_each_contact_is_rewritten_once(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    tag = await _vip_tag(store)
    carriers = await _seed(store, settings, 70, tags=["VIP"])
    _, job = await tags.update_tag(store, tag["id"], {"name": "Gold"}, tenant=TENANT, actor=USER)
    assert job is not None
    counted = _StaleFirstPage(store, None)
    # No batch can take a nanosecond: 40 contacts (below the first budgeted batch), then the
    # least batch of 20 each time.
    await run_job(counted, job["id"], TENANT, batch_size=40, batch_seconds=1e-9)
    assert counted.transactions == 1 + 3  # the start, then batches of 40, 20 and the last 10
    done = await get_job(store, job["id"], tenant=TENANT)
    assert (done["status"], done["done"], done["changed"]) == ("completed", 70, 70)
    assert [(await _contact(store, c["id"]))["version"] for c in carriers] == [2] * 70
    assert sorted(e["key"] for e in await _updates(store) if e["actor"] != USER) == sorted(
        c["id"] for c in carriers
    )
