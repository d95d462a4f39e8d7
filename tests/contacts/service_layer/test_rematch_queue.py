"""The re-match queue keyed by contact, rounds read in bulk, an import's contacts matched after it.

The recall check compares the pairs the rounds write with the pairs each contact's own look-up
(`match_list`, the create-time check) finds, on generated people with typos, nicknames, swapped
and accented names, in SQLite and in memory.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bench.duplicates_data import generate
from crm_contacts.adapters.duplicates import (
    DUPLICATE_PAIRS,
    MATCH_QUEUE,
    QUEUE_TENANT,
    queue_rematch,
    queued,
)
from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_contacts.domain.contact import new_contact
from crm_contacts.domain.contact_doc import as_stored
from crm_contacts.domain.matching.pairs import pair_id
from crm_contacts.service_layer.duplicates import (
    dismiss_group,
    match_list,
    refresh_queued,
    rematch_round,
)
from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore, Session
from crm_shared.storage.memory import MemoryStore
from crm_shared.storage.sqlite import SqliteStore
from tests.contacts.store_derived import as_older_code

TENANT = "acme"
NOW = "2026-01-01T00:00:00.000000Z"
# A few the generator leaves out: a shared phone under another name, a nickname at one company.
_EXTRA = (
    {"name": "Robert Dylan", "company": "Columbia", "email": "bob@gmail.com"},
    {"name": "Bob Dylan", "company": "Columbia", "email": "robert@yahoo.com"},
    {"name": "Front Desk", "phone": "+14155550100"},
    {"name": "Maria Lopez", "phone": "+14155550100"},
)
# A crowd sharing a sound block larger than a look-up reads (NAME_CANDIDATES): the round must
# cap each contact's candidates as its own look-up does.
_CROWD = [
    {"name": name, "company": company, "email": f"crowd.{n}.{i}@gmail.com"}
    for n in range(4)
    for i, (name, company) in enumerate(
        itertools.product(
            ("John Smith", "Jon Smith", "John Smyth", "Smith John", "J. Smith", "John Smiht"),
            ("Acme", "Globex", "Initech"),
        )
    )
]


@pytest.fixture(params=["sqlite", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DocumentStore]:
    made: DocumentStore = (
        SqliteStore(tmp_path / "contacts.sqlite3") if request.param == "sqlite" else MemoryStore()
    )
    await made.start(COLLECTION_SPECS)
    yield made
    await made.close()


def _stored(profile: dict[str, Any]) -> dict[str, Any]:
    doc = new_contact(contact_id=new_id(), tenant=TENANT, profile=profile, source="import", now=NOW)
    return as_stored(doc)


async def _write(store: DocumentStore, docs: list[dict[str, Any]], **queue: Any) -> None:
    async with store.transaction() as session:
        await session.insert_many("contacts", docs)
        await queue_rematch(session, TENANT, [d["id"] for d in docs], **queue)


async def _pairs(store: DocumentStore) -> dict[str, dict[str, Any]]:
    async with store.reader() as session:
        found = await session.find(DUPLICATE_PAIRS, tenant=TENANT, limit=10**6)
    return {p["id"]: p for p in found}


async def _queue(store: DocumentStore) -> list[dict[str, Any]]:
    async with store.reader() as session:
        return await queued(session, limit=10**6)


async def _drain(store: DocumentStore, **options: Any) -> int:
    rounds = 0
    while await refresh_queued(store, **options):
        rounds += 1
    return rounds


async def test_rounds_find_the_pairs_one_by_one_look_ups_find(store: DocumentStore) -> None:
    # The memory store scans every document per query: a smaller set keeps it quick.
    size = 600 if isinstance(store, SqliteStore) else 200
    profiles, known = generate(size, seed=11, duplicate_share=0.1)
    docs = [_stored(p) for p in [*profiles, *_CROWD, *_EXTRA]]
    # An import's contacts: matched after it, in its larger rounds.
    await _write(store, docs, reason="imported", import_job="job-1")
    async with store.reader() as session:
        one_by_one = {
            pair_id(doc["id"], m.contact_id): (m.score, list(m.reasons))
            for doc in docs
            for m in await match_list(session, TENANT, doc)
        }

    rounds = await _drain(store, import_batch=200, import_quiet=0)

    assert rounds == -(-len(docs) // 200)
    found = {i: (p["score"], p["reasons"]) for i, p in (await _pairs(store)).items()}
    assert found == one_by_one
    ids = [d["id"] for d in docs]
    # The data set holds what the look-up must survive: each kind of known duplicate is found.
    assert len({k.kind for k in known if pair_id(ids[k.original], ids[k.duplicate]) in found}) == 4
    assert pair_id(ids[-1], ids[-2]) in found  # the shared phone
    assert found[pair_id(ids[-3], ids[-4])][1] == ["similar_name", "same_company"]


async def test_a_holder_stored_under_a_weak_key_its_name_no_longer_gives_is_still_found(
    store: DocumentStore, tmp_path: Path
) -> None:
    # A round tells the weak blocks' holders apart by the keys of their names; one written
    # under an older rule holds a key its name does not give: the store's keys decide.
    john = _stored({"name": "John Smyth", "company": "Acme"})
    stale = _stored({"name": "Ohn Smyth", "company": "Acme"})
    stale["match_keys"] = ["f:john s"]

    async def write(into: DocumentStore) -> None:
        await _write(into, [john, stale])

    await as_older_code(store, tmp_path / "contacts.sqlite3", write)
    async with store.reader() as session:
        one_by_one = {doc["id"]: await match_list(session, TENANT, doc) for doc in (john, stale)}

    # John's round alone: its pair comes from its own weak block, not from the other side.
    alone = await rematch_round(store, TENANT, [john["id"]])
    both = await rematch_round(store, TENANT, [john["id"], stale["id"]])

    assert alone == {john["id"]: one_by_one[john["id"]]}
    assert both == one_by_one
    assert [m.contact_id for m in alone[john["id"]]] == [stale["id"]]


async def test_a_contact_queued_twice_has_one_entry_and_is_matched_once(
    store: DocumentStore,
) -> None:
    ada, twin = (
        _stored({"name": "Ada Lovelace", "company": "Acme"}),
        _stored({"name": "Ada Lovelace", "company": "Acme"}),
    )
    await _write(store, [ada, twin], reason="imported", import_job="job-1")
    # Then the import's contact is edited: its entry is replaced, holding the latest reason.
    async with store.transaction() as session:
        await queue_rematch(session, TENANT, [ada["id"]], reason="updated")
    entries = await _queue(store)
    assert sorted(e["contact_id"] for e in entries) == sorted([ada["id"], twin["id"]])
    assert {e["contact_id"]: e["reason"] for e in entries}[ada["id"]] == "updated"
    counting = _CountingStore(store)

    # The edit comes first (no import wait), and ada is matched once, not twice.
    assert await refresh_queued(counting, import_quiet=3600) == 1  # type: ignore[arg-type]
    assert counting.matched == [ada["id"]]
    assert await refresh_queued(counting, import_quiet=0) == 1  # type: ignore[arg-type]
    assert counting.matched == [ada["id"], twin["id"]]
    assert await _queue(store) == []
    assert set(await _pairs(store)) == {pair_id(ada["id"], twin["id"])}


async def test_a_round_reads_its_blocks_once_per_kind_of_key(store: DocumentStore) -> None:
    profiles, _ = generate(300, seed=3, duplicate_share=0.1)
    await _write(store, [_stored(p) for p in profiles])
    counting = _CountingStore(store)

    handled = await refresh_queued(counting, batch=100)  # type: ignore[arg-type]

    assert handled == 100
    # The round's own contacts, then identifiers, exact names, sounds, the weak blocks' names
    # and the similar ones among them: six queries of the contacts for 100 contacts (one by
    # one, it was several per contact).
    assert counting.contact_queries == 6


async def test_a_dismissal_made_during_a_round_is_kept(store: DocumentStore) -> None:
    ada, twin = (
        _stored({"name": "Ada Lovelace", "company": "Acme"}),
        _stored({"name": "Ada Lovelace", "company": "Acme"}),
    )
    await _write(store, [ada, twin])
    await _drain(store)
    group = pair_id(ada["id"], twin["id"])
    async with store.transaction() as session:
        await queue_rematch(session, TENANT, [ada["id"], twin["id"]])

    async def dismiss() -> None:
        await dismiss_group(store, group, tenant=TENANT, actor="key:editor")

    # Dismissed after the round read and matched both, before it writes its pairs.
    await refresh_queued(_CountingStore(store, before_write=dismiss))  # type: ignore[arg-type]

    assert (await _pairs(store))[group]["dismissed"] is True
    assert await _queue(store) == []


async def test_a_contact_queued_again_while_its_round_matches_stays_queued(
    store: DocumentStore,
) -> None:
    ada = _stored({"name": "Ada Lovelace", "company": "Acme"})
    await _write(store, [ada])

    async def requeue() -> None:
        async with store.transaction() as session:
            await queue_rematch(session, TENANT, [ada["id"]], reason="updated")

    assert await refresh_queued(_CountingStore(store, before_write=requeue)) == 1  # type: ignore[arg-type]

    assert [e["reason"] for e in await _queue(store)] == ["updated"]
    assert await _drain(store) == 1
    assert await _queue(store) == []


async def test_an_imports_contacts_wait_until_its_batches_stop_then_the_queue_empties(
    store: DocumentStore,
) -> None:
    people = [_stored({"name": "Grace Hopper", "company": f"Navy {i % 3}"}) for i in range(30)]
    await _write(store, people[:20], reason="imported", import_job="job-1")
    edited = _stored({"name": "Alan Turing"})
    await _write(store, [edited])

    # While job-1's batches keep coming, only the edit is matched.
    assert await _drain(store, import_quiet=3600) == 1
    assert [e["contact_id"] for e in await _queue(store)] == [p["id"] for p in people[:20]]
    await _write(store, people[20:], reason="imported", import_job="job-1")
    assert await _drain(store, import_quiet=3600, defer_limit=3600) == 0

    # Once it is quiet, its contacts are matched, every pair found, and the queue empties.
    assert await _drain(store, import_quiet=0, import_batch=7) == 5
    assert await _queue(store) == []
    async with store.reader() as session:
        assert await session.count(MATCH_QUEUE, tenant=QUEUE_TENANT) == 0
    pairs = await _pairs(store)
    # 10 Grace Hoppers at each of 3 companies: every two at one company are a pair.
    assert len(pairs) == 3 * (10 * 9 // 2)


async def test_a_long_import_is_matched_beside_it_once_its_entries_waited_too_long(
    store: DocumentStore,
) -> None:
    people = [_stored({"name": "Grace Hopper", "company": "Navy"}) for _ in range(4)]
    await _write(store, people, reason="imported", import_job="job-1")

    assert await _drain(store, import_quiet=3600, defer_limit=0) == 1
    assert len(await _pairs(store)) == 6


class _CountingSession:
    """A session that counts queries of the contacts and notes whose blocks were read."""

    def __init__(self, inner: Session, owner: _CountingStore) -> None:
        self._inner = inner
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def find(self, collection: str, **kwargs: Any) -> list[dict[str, Any]]:
        found = await self._inner.find(collection, **kwargs)
        if collection == "contacts":
            self._owner.contact_queries += 1
            ids = _queried_ids(kwargs.get("where", ()))
            if ids and kwargs.get("fields"):
                self._owner.matched += [d["id"] for d in found if d["id"] in ids]
        return found


def _queried_ids(where: Any) -> set[str]:
    return {v for w in where if getattr(w, "field", None) == "id" for v in w.values}


class _CountingStore:
    """A store counting the contact queries of its rounds; runs `before_write` at the write."""

    def __init__(
        self, inner: DocumentStore, *, before_write: Callable[[], Any] | None = None
    ) -> None:
        self.inner = inner
        self.contact_queries = 0
        self.matched: list[str] = []
        self._before_write = before_write

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Session]:
        async with self.inner.reader() as session:
            yield _CountingSession(session, self)  # type: ignore[misc]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        if self._before_write is not None:
            await self._before_write()
        async with self.inner.transaction() as session:
            yield _CountingSession(session, self)  # type: ignore[misc]
