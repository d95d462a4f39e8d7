"""The derived-fields backfill: older contacts re-keyed and re-folded once, resumably, silently."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from crm_contacts.adapters.derived_backfill import read_progress
from crm_contacts.adapters.repository import COLLECTION_SPECS, ContactRepository
from crm_contacts.domain.contact import new_contact
from crm_contacts.domain.derived_fields import DERIVED_FIELDS_VERSION, STORE_DERIVED_FIELDS
from crm_contacts.service_layer.derived_backfill import backfill_derived_fields
from crm_contacts.service_layer.duplicates import find_matches
from crm_contacts.service_layer.search import search_contacts
from crm_shared.filters import ContactFilter
from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore, In, Session
from crm_shared.storage.memory import MemoryStore
from crm_shared.storage.sqlite import SqliteStore
from tests.contacts.store_derived import as_older_code

TENANT = "acme"
NOW = "2026-01-01T00:00:00.000000Z"


@pytest.fixture(params=["sqlite", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DocumentStore]:
    started: DocumentStore = (
        SqliteStore(tmp_path / "contacts.sqlite3") if request.param == "sqlite" else MemoryStore()
    )
    await started.start(COLLECTION_SPECS)
    yield started
    await started.close()


Older = Callable[[list[dict[str, Any]]], Awaitable[None]]


@pytest.fixture
def older(store: DocumentStore, tmp_path: Path) -> Older:
    """Writes contacts into `store` as older code did, derived values and all."""

    async def insert(docs: list[dict[str, Any]]) -> None:
        async def write(into: DocumentStore) -> None:
            await _insert(into, docs)

        await as_older_code(store, tmp_path / "contacts.sqlite3", write)

    return insert


def _stored_by_older_code(
    name: str, *, company: str = "Acme", tenant: str = TENANT
) -> dict[str, Any]:
    """A contact as stop 8's code stored it: no `f:` key, search text folded without
    transliteration (Ø, ß, Ł and æ were dropped, having no combining-mark decomposition), and
    the retired `email_norm` and `emails_norm`."""
    doc = dict(
        new_contact(
            contact_id=new_id(),
            tenant=tenant,
            profile={"name": name, "company": company},
            source="manual",
            now=NOW,
        )
    )
    doc["match_keys"] = [k for k in doc["match_keys"] if not k.startswith("f:")]
    old_fold = name.lower().replace("ø", "").replace("ß", "")
    doc["search_text"] = f"{old_fold} {company.lower()}"
    doc["name_sort"] = old_fold
    doc["email_norm"] = doc["email"]
    doc["emails_norm"] = [doc["email"]] if doc["email"] else []
    return doc


async def _insert(store: DocumentStore, docs: list[dict[str, Any]]) -> None:
    async with store.transaction() as session:
        await session.insert_many("contacts", docs)


async def _matches(store: DocumentStore, name: str) -> set[str]:
    probe = dict(
        new_contact(
            contact_id="probe",
            tenant=TENANT,
            profile={"name": name, "company": "Acme"},
            source="manual",
            now=NOW,
        )
    )
    async with store.reader() as session:
        return {match.contact_id for match, _ in await find_matches(session, TENANT, probe)}


async def _stored(store: DocumentStore, doc: dict[str, Any]) -> dict[str, Any]:
    """The stored contact with the fields the store derives (a projection names them)."""
    derived = list(STORE_DERIVED_FIELDS)
    async with store.reader() as session:
        found = await session.get("contacts", tenant=doc["tenant"], id=doc["id"])
        held = await session.find(
            "contacts", tenant=doc["tenant"], where=[In("id", (doc["id"],))], fields=derived
        )
    assert found is not None and all(name not in found for name in derived)
    return {**found, **{name: held[0][name] for name in derived}}


async def test_an_old_contact_is_found_by_the_create_time_check_only_after_the_backfill(
    store: DocumentStore, older: Older
) -> None:
    # "Smith" and "Slmith" share no sound or surname key: only the first name + initial key.
    old = _stored_by_older_code("John Smith")
    await older([old])
    assert await _matches(store, "John Slmith") == set()

    run = await backfill_derived_fields(store, pause=0)

    assert (run.processed, run.rewritten) == (1, 1)
    assert await _matches(store, "John Slmith") == {old["id"]}


async def test_an_old_contact_is_found_by_its_transliterated_name_after_the_backfill(
    store: DocumentStore, older: Older
) -> None:
    old = _stored_by_older_code("Øystein Ødegaard")
    await older([old])

    async def searched() -> list[str]:
        page = await search_contacts(
            store, tenant=TENANT, criteria=ContactFilter(q="odegaard"), secret=b"s" * 32
        )
        return [item["id"] for item in page.items]

    assert await searched() == []
    await backfill_derived_fields(store, pause=0)
    assert await searched() == [old["id"]]


async def test_the_backfill_changes_no_version_no_edit_time_and_sends_no_event(
    store: DocumentStore, older: Older
) -> None:
    old = _stored_by_older_code("Søren Weiß")
    await older([old])

    await backfill_derived_fields(store, pause=0)

    after = await _stored(store, old)
    assert after["match_keys"] != old["match_keys"] and after["search_text"] != old["search_text"]
    assert (after["version"], after["updated_at"]) == (old["version"], old["updated_at"])
    rederived = ("match_keys", "search_text", "name_sort", "email_norm", "emails_norm")
    assert {k: v for k, v in after.items() if k not in rederived} == {
        k: v for k, v in old.items() if k not in rederived
    }
    assert await store.pending_count() == 0


async def test_the_backfill_removes_the_retired_email_fields_and_the_email_still_finds_it(
    store: DocumentStore, older: Older
) -> None:
    old = {
        **dict(
            new_contact(
                contact_id=new_id(),
                tenant=TENANT,
                profile={"name": "Ada", "email": "ada@example.com"},
                source="manual",
                now=NOW,
            )
        ),
        "email_norm": "ada@example.com",
        "emails_norm": ["ada@example.com"],
    }
    await older([old])

    run = await backfill_derived_fields(store, pause=0)

    after = await _stored(store, old)
    assert run.rewritten == 1
    assert "email_norm" not in after and "emails_norm" not in after
    async with store.reader() as session:
        found = await ContactRepository(session, TENANT).live_with_email("ada@example.com")
    assert found is not None and found["id"] == old["id"]


async def test_the_backfill_runs_once_per_version_and_skips_current_contacts(
    store: DocumentStore, older: Older
) -> None:
    current = dict(
        new_contact(
            contact_id=new_id(), tenant="globex", profile={"name": "Ada"}, source="manual", now=NOW
        )
    )
    await older([_stored_by_older_code("John Smith"), current])

    first = await backfill_derived_fields(store, pause=0)
    second = await backfill_derived_fields(store, pause=0)

    assert (first.tenants, first.processed, first.rewritten) == (2, 2, 1)
    assert (second.processed, second.rewritten) == (0, 0)
    async with store.reader() as session:
        progress = await read_progress(session, TENANT)
    assert progress is not None
    assert (progress["version"], progress["finished"]) == (DERIVED_FIELDS_VERSION, True)


class Crash(Exception):
    """The process dying in the middle of a chunk."""


class CrashingStore:
    """A store whose `crash_on`-th write transaction fails after its writes (rolled back)."""

    def __init__(self, inner: DocumentStore, *, crash_on: int) -> None:
        self._inner = inner
        self._crash_on = crash_on
        self._transactions = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        self._transactions += 1
        async with self._inner.transaction() as session:
            yield session
            if self._transactions == self._crash_on:
                raise Crash


async def test_the_backfill_resumes_after_the_last_committed_chunk(
    store: DocumentStore, older: Older
) -> None:
    olds = [_stored_by_older_code(f"John Smith{n}") for n in range(5)]
    olds.sort(key=lambda doc: doc["id"])
    await older(olds)

    with pytest.raises(Crash):
        await backfill_derived_fields(CrashingStore(store, crash_on=2), chunk=2, pause=0)

    kept = [await _stored(store, doc) for doc in olds]
    assert [
        doc["match_keys"] != old["match_keys"] for doc, old in zip(kept, olds, strict=True)
    ] == [
        True,
        True,
        False,
        False,
        False,
    ]
    async with store.reader() as session:
        progress = await read_progress(session, TENANT)
    assert progress is not None
    assert (progress["after"], progress["processed"], progress["finished"]) == (
        olds[1]["id"],
        2,
        False,
    )

    run = await backfill_derived_fields(store, chunk=2, pause=0)

    assert (run.processed, run.rewritten) == (3, 3)  # the two committed ones are not read again
    for old in olds:
        assert any(key.startswith("f:") for key in (await _stored(store, old))["match_keys"])


class ContactReadCountingStore:
    """A store that counts the contacts its sessions read (`find` and `get`)."""

    def __init__(self, inner: DocumentStore) -> None:
        self._inner = inner
        self.contact_reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _counting(self, session: Session) -> Session:
        store = self

        class Counting:
            def __getattr__(self, name: str) -> Any:
                method = getattr(session, name)
                if name not in ("find", "get"):
                    return method

                async def counted(collection: str, **kwargs: Any) -> Any:
                    found = await method(collection, **kwargs)
                    if collection == "contacts":
                        store.contact_reads += 1
                    return found

                return counted

        return Counting()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        async with self._inner.transaction() as session:
            yield self._counting(session)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Session]:
        async with self._inner.reader() as session:
            yield self._counting(session)


def _current(name: str, tenant: str = TENANT) -> dict[str, Any]:
    """A contact as this code writes it."""
    return dict(
        new_contact(
            contact_id=new_id(), tenant=tenant, profile={"name": name}, source="manual", now=NOW
        )
    )


async def _write_current(store: DocumentStore, tenant: str = TENANT) -> None:
    """Contacts written by this code: a batch as an import writes them, then one as POST does."""
    async with store.transaction() as session:
        await ContactRepository(session, tenant).add_many(
            [_current("Ada", tenant), _current("Bo", tenant)]
        )
    async with store.transaction() as session:
        await ContactRepository(session, tenant).add(_current("Cy", tenant))


async def _progress(store: DocumentStore, tenant: str = TENANT) -> dict[str, Any] | None:
    async with store.reader() as session:
        found: dict[str, Any] | None = await read_progress(session, tenant)
    return found


async def test_a_tenant_current_code_wrote_into_a_fresh_store_is_never_walked(
    store: DocumentStore,
) -> None:
    started_empty = await backfill_derived_fields(store, pause=0)  # the service's first start
    await _write_current(store)
    counting = ContactReadCountingStore(store)

    run = await backfill_derived_fields(counting, pause=0)

    assert (started_empty.tenants, started_empty.processed) == (0, 0)
    assert (run.tenants, run.processed, run.rewritten, counting.contact_reads) == (1, 0, 0, 0)
    progress = await _progress(store)
    assert progress is not None
    assert (progress["version"], progress["finished"]) == (DERIVED_FIELDS_VERSION, True)


async def test_a_store_holding_contacts_of_older_code_is_still_walked(
    store: DocumentStore, older: Older
) -> None:
    old = _stored_by_older_code("John Smith")
    await older([old])
    await _write_current(store)  # current code wrote to it before its first backfill

    run = await backfill_derived_fields(store, pause=0)

    assert (run.processed, run.rewritten) == (4, 1)
    assert any(key.startswith("f:") for key in (await _stored(store, old))["match_keys"])


async def test_a_tenant_new_after_every_tenant_was_walked_is_not_walked(
    store: DocumentStore, older: Older
) -> None:
    await older([_stored_by_older_code("John Smith")])
    walked = await backfill_derived_fields(store, pause=0)
    await _write_current(store, tenant="globex")
    counting = ContactReadCountingStore(store)

    run = await backfill_derived_fields(counting, pause=0)

    assert (walked.processed, walked.rewritten) == (1, 1)
    assert (run.tenants, run.processed, counting.contact_reads) == (2, 0, 0)
    assert (await _progress(store, "globex") or {}).get("finished") is True


async def test_a_store_marked_current_at_an_older_version_walks_a_new_tenant(
    store: DocumentStore,
) -> None:
    await backfill_derived_fields(store, version=DERIVED_FIELDS_VERSION - 1, pause=0)
    await _write_current(store)

    run = await backfill_derived_fields(store, pause=0)  # new code, new derived fields

    assert (run.processed, run.rewritten) == (3, 0)


async def test_a_failed_walk_does_not_mark_the_store_current(
    store: DocumentStore, older: Older
) -> None:
    olds = sorted(
        (_stored_by_older_code(f"John Smith{n}") for n in range(3)), key=lambda d: d["id"]
    )
    await older(olds)
    with pytest.raises(Crash):
        await backfill_derived_fields(CrashingStore(store, crash_on=2), chunk=1, pause=0)
    await _write_current(store, tenant="globex")

    run = await backfill_derived_fields(store, chunk=1, pause=0)

    # The rest of the old tenant, and the new tenant read too: the store was not marked.
    assert (run.processed, run.rewritten) == (2 + 3, 2)
    for old in olds:
        assert any(key.startswith("f:") for key in (await _stored(store, old))["match_keys"])
