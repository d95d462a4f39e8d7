"""The queued re-match: matched outside the writer, written in bulk, one transaction a round."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from crm_contacts.adapters.duplicates import (
    DUPLICATE_PAIRS,
    PairRepository,
    queue_rematch,
    queued,
)
from crm_contacts.domain.matching import match_keys
from crm_contacts.domain.matching.pairs import dismissed_pair, pair_id
from crm_contacts.service_layer.duplicates import NAME_CANDIDATES, refresh_queued
from crm_shared.storage import Session
from crm_shared.storage.memory import MemoryStore

TENANT = "acme"


class _WatchedSession:
    """A write session that counts the contact documents read through it."""

    def __init__(self, inner: Session, store: _WatchedStore) -> None:
        self._inner = inner
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def find(self, collection: str, **kwargs: Any) -> list[dict[str, Any]]:
        found = await self._inner.find(collection, **kwargs)
        if collection == "contacts":
            self._store.contacts_read_while_writing += len(found)
        return found


class _WatchedStore:
    """A store that counts write transactions and what they read of the contacts."""

    def __init__(self, inner: MemoryStore) -> None:
        self.inner = inner
        self.transactions = 0
        self.contacts_read_while_writing = 0

    def reader(self) -> Any:
        return self.inner.reader()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        self.transactions += 1
        async with self.inner.transaction() as session:
            yield _WatchedSession(session, self)  # type: ignore[misc]


def _contact(contact_id: str, **fields: Any) -> dict[str, Any]:
    doc = {"id": contact_id, "tenant": TENANT, "deleted_at": None, "merged_into": None, **fields}
    return doc | {"match_keys": match_keys(doc)}


async def _insert_queued(store: MemoryStore, docs: list[dict[str, Any]]) -> None:
    """Contacts written and queued for a re-match in one transaction, as an import does."""
    async with store.transaction() as session:
        await session.insert_many("contacts", docs)
        await queue_rematch(session, TENANT, [d["id"] for d in docs])


async def _open_pairs(store: MemoryStore) -> dict[str, dict[str, Any]]:
    async with store.reader() as session:
        pairs = await session.find(DUPLICATE_PAIRS, tenant=TENANT, limit=10**6)
    return {p["id"]: p for p in pairs}


async def test_a_round_matches_outside_its_one_write_transaction(store: MemoryStore) -> None:
    # One name at one company: every contact is a duplicate of every other.
    size = 30
    await _insert_queued(
        store, [_contact(f"c{i:02d}", name="Ada Lovelace", company="Acme") for i in range(size)]
    )
    watched = _WatchedStore(store)

    handled = await refresh_queued(watched, batch=100)  # type: ignore[arg-type]

    assert handled == size
    assert watched.transactions == 1
    # Every candidate was read before the writer was taken: the transaction only writes pairs.
    assert watched.contacts_read_while_writing == 0
    pairs = await _open_pairs(store)
    assert len(pairs) == size * (size - 1) // 2
    assert all(p["reasons"] == ["similar_name", "same_company"] for p in pairs.values())
    async with store.reader() as session:
        assert await queued(session, limit=10) == []


async def test_a_round_over_a_common_name_writes_capped_pairs_per_contact(
    store: MemoryStore,
) -> None:
    # A name held by more contacts than a look-up reads: each contact's own pairs are capped.
    crowd = 3 * NAME_CANDIDATES
    await _insert_queued(store, [_contact(f"c{i:03d}", name="John Smith") for i in range(crowd)])

    while await refresh_queued(store, batch=40):
        pass

    pairs = await _open_pairs(store)
    newest = f"c{crowd - 1:03d}"
    assert 0 < sum(newest in p["contact_ids"] for p in pairs.values()) <= NAME_CANDIDATES
    assert len(pairs) <= crowd * NAME_CANDIDATES


async def test_a_rematch_drops_pairs_no_longer_found_and_keeps_dismissals(
    store: MemoryStore,
) -> None:
    docs = [_contact(f"c{i}", name="Ada Lovelace", company="Acme") for i in range(3)]
    await _insert_queued(store, docs)
    await refresh_queued(store)
    async with store.transaction() as session:
        pairs = PairRepository(session, TENANT)
        kept = await pairs.get(pair_id("c1", "c2"))
        assert kept is not None
        await pairs.put(dismissed_pair(kept, actor="key:t", now="2026-01-01T00:00:00Z"), new=False)
        # c0 leaves the live set; all three are matched again in one round.
        await session.replace("contacts", docs[0] | {"deleted_at": "2026-01-01T00:00:00Z"})
        await queue_rematch(session, TENANT, ["c0", "c1", "c2"])

    await refresh_queued(store)

    pairs_now = await _open_pairs(store)
    assert set(pairs_now) == {pair_id("c1", "c2")}
    assert pairs_now[pair_id("c1", "c2")]["dismissed"] is True
