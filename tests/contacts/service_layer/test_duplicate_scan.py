"""The full duplicate scan on the in-memory store: what it writes, and what it leaves alone."""

from __future__ import annotations

from typing import Any

import pytest

from crm_contacts.adapters.duplicates import DUPLICATE_PAIRS
from crm_contacts.domain.matching.pairs import dismissed_pair, new_pair, pair_id
from crm_contacts.service_layer import duplicate_scan
from crm_contacts.service_layer.duplicate_scan import scan_tenant
from crm_shared.storage.memory import MemoryStore

TENANT = "acme"


def _contact(contact_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": contact_id, "tenant": TENANT, "deleted_at": None, **fields}


async def _insert(store: MemoryStore, collection: str, *docs: dict[str, Any]) -> None:
    async with store.transaction() as session:
        await session.insert_many(collection, list(docs))


async def _pairs(store: MemoryStore) -> dict[str, dict[str, Any]]:
    async with store.reader() as session:
        docs = await session.find(DUPLICATE_PAIRS, tenant=TENANT, limit=1000)
    return {doc["id"]: doc for doc in docs}


async def test_a_second_scan_of_unchanged_contacts_writes_nothing(store: MemoryStore) -> None:
    await _insert(
        store,
        "contacts",
        _contact("c1", name="Ada Lovelace", email="ada@acme.com", company="Acme"),
        _contact("c2", name="Ada Lovelac", company="Acme"),
        _contact("c3", name="Grace Hopper", email="grace@navy.mil"),
    )
    first = await scan_tenant(store, tenant=TENANT)
    stored = await _pairs(store)
    second = await scan_tenant(store, tenant=TENANT)

    assert first.written == 1 and list(stored) == [pair_id("c1", "c2")]
    assert second.written == 0
    assert await _pairs(store) == stored, "an unchanged pair keeps its document and updated_at"


async def test_scan_deletes_open_pairs_it_no_longer_finds_and_keeps_dismissed_ones(
    store: MemoryStore,
) -> None:
    await _insert(
        store,
        "contacts",
        _contact("c1", name="Ada Lovelace", company="Acme"),
        _contact("c2", name="Ada Lovelace", company="Acme"),
        _contact("c3", name="Grace Hopper"),
        _contact("c4", name="Alan Turing"),
        _contact("c5", name="Edsger Dijkstra"),
    )
    stale = new_pair(tenant=TENANT, a="c3", b="c4", score=0.7, reasons=["x"], now="1")
    kept = dismissed_pair(
        new_pair(tenant=TENANT, a="c4", b="c5", score=0.7, reasons=["x"], now="1"),
        actor="key",
        now="2",
    )
    await _insert(store, DUPLICATE_PAIRS, stale, kept)

    result = await scan_tenant(store, tenant=TENANT)
    pairs = await _pairs(store)

    assert set(pairs) == {pair_id("c1", "c2"), kept["id"]}
    assert pairs[kept["id"]] == kept
    assert result.written == 2  # the new pair, the stale one deleted


async def test_scan_rescores_a_changed_pair_in_place(store: MemoryStore) -> None:
    await _insert(
        store,
        "contacts",
        _contact("c1", name="Ada Lovelace", company="Acme"),
        _contact("c2", name="Ada Lovelace", company="Acme"),
    )
    old = new_pair(tenant=TENANT, a="c1", b="c2", score=0.1, reasons=["similar_name"], now="1")
    await _insert(store, DUPLICATE_PAIRS, old)

    await scan_tenant(store, tenant=TENANT)
    pair = (await _pairs(store))[old["id"]]

    assert pair["score"] > 0.1 and pair["reasons"] == ["similar_name", "same_company"]
    assert pair["updated_at"] != "1"


async def test_a_pair_written_by_the_re_match_while_the_scan_ran_does_not_fail_the_scan(
    store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contacts' own re-match may store a pair after the scan read the stored pairs and
    before it writes them: the scan rescores that pair instead of inserting it a second time."""
    await _insert(
        store,
        "contacts",
        _contact("c1", name="Ada Lovelace", company="Acme"),
        _contact("c2", name="Ada Lovelace", company="Acme"),
    )
    read_stored_pairs = duplicate_scan._stored_pairs

    async def read_then_re_match_writes(store: Any, tenant: str) -> dict[str, dict[str, Any]]:
        before = await read_stored_pairs(store, tenant)
        late = new_pair(tenant=TENANT, a="c1", b="c2", score=0.1, reasons=["similar_name"], now="1")
        await _insert(store, DUPLICATE_PAIRS, late)
        return before

    monkeypatch.setattr(duplicate_scan, "_stored_pairs", read_then_re_match_writes)

    result = await scan_tenant(store, tenant=TENANT)
    pairs = await _pairs(store)

    assert result.stats.matches == 1
    assert list(pairs) == [pair_id("c1", "c2")]
    assert pairs[pair_id("c1", "c2")]["reasons"] == ["similar_name", "same_company"]
