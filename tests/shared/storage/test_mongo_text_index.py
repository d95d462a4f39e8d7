"""TextMatch on the MongoDB adapter goes through its trigram index (storage/mongo_text.py).

The meaning is the contract suite's (test_text_search_contract.py, every adapter); these check
the MongoDB side of how: the hidden trigram array is written and never read back, a query narrows
by it (a document without the array is not found), documents stored by the earlier adapter get
their trigrams at start-up, and on a real server the query plan uses the trigram index.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, Index, TextMatch
from crm_shared.storage.mongo import MongoStore
from crm_shared.storage.mongo_text import condition, token_field, trigrams
from crm_shared.text import search_fold
from tests.shared.storage.mongo_double import MongoDouble

TENANT = "acme"
OLD_SPECS = (CollectionSpec("contacts"),)
SPECS = (CollectionSpec("contacts", indexes=(Index(("search",), text=True),)),)
TOKENS = token_field("search")


def _doc(text: str) -> dict[str, Any]:
    return {"id": new_id(), "tenant": TENANT, "version": 1, "search": search_fold(text)}


async def _found(store: MongoStore, query: str) -> set[str]:
    where = (TextMatch("search", search_fold(query)),)
    async with store.reader() as session:
        return {d["id"] for d in await session.find("contacts", tenant=TENANT, where=where)}


@pytest.fixture
async def double() -> AsyncIterator[MongoDouble]:
    yield MongoDouble()


async def _started(client: Any, database: str = "crm_text") -> MongoStore:
    store = MongoStore("mongodb://double", database, client=client)
    await store.start(SPECS)
    return store


def test_trigrams_are_the_distinct_slices_and_a_query_needs_each_words_own() -> None:
    assert trigrams("abcab") == ["abc", "bca", "cab"]
    assert trigrams("ab") == []
    query = condition("search", TextMatch("search", "john b23974 jo"), indexed=True)
    first = query["$and"][0]
    assert first == {TOKENS: {"$all": sorted({*trigrams("john"), *trigrams("b23974")})}}
    # Every word, the short one too, is still checked as a literal substring.
    assert len(query["$and"]) == 4


async def test_trigrams_are_stored_beside_the_text_and_never_read_back(double: MongoDouble) -> None:
    store = await _started(double)
    doc = _doc("Ole Ødegaard ole@fjord.example")
    async with store.transaction() as session:
        await session.insert("contacts", doc)
    raw = double["crm_text"]["contacts"]._sync.find_one({"_id": doc["id"]})
    assert raw[TOKENS] == trigrams(doc["search"])
    async with store.reader() as session:
        assert await session.get("contacts", tenant=TENANT, id=doc["id"]) == doc
        assert await session.find("contacts", tenant=TENANT) == [doc]
    async with store.transaction() as session:
        assert await session.replace("contacts", {**doc, "search": ""})  # an erasure
    raw = double["crm_text"]["contacts"]._sync.find_one({"_id": doc["id"]})
    assert raw[TOKENS] == []
    assert await _found(store, "odegaard") == set()
    await store.close()


async def test_documents_stored_before_the_index_get_trigrams_at_start(
    double: MongoDouble,
) -> None:
    # Stored by the earlier adapter, which indexed the text field itself and kept no trigrams.
    old = MongoStore("mongodb://double", "crm_text", client=double)
    await old.start(OLD_SPECS)
    docs = [_doc(f"Person {n} b2397{n} person{n}@example.com") for n in range(3)]
    async with old.transaction() as session:
        await session.insert_many("contacts", docs)
    await double["crm_text"]["contacts"].create_index(
        [("tenant", 1), ("search", 1), ("_id", 1)], name="ix_search_text"
    )
    raw = double["crm_text"]["contacts"]._sync
    store = await _started(double)
    assert await _found(store, "b23971") == {docs[1]["id"]}
    assert await _found(store, "example person") == {d["id"] for d in docs}
    assert all(doc[TOKENS] for doc in raw.find({}))
    indexes = raw.index_information()
    assert "ix_search_text" not in indexes and "ix_search_text_trigrams" in indexes
    await store.close()


async def test_a_query_goes_by_the_trigrams(double: MongoDouble) -> None:
    store = await _started(double)
    # Written around the adapter, without trigrams: its text holds the word, yet the query,
    # which narrows by trigrams first, does not find it.
    stray = {**_doc("Grace Hopper"), "_id": "stray"}
    double["crm_text"]["contacts"]._sync.insert_one(stray)
    assert await _found(store, "hopper") == set()
    kept = _doc("Grace Hopper")
    async with store.transaction() as session:
        await session.insert("contacts", kept)
    assert await _found(store, "hopper") == {kept["id"]}
    await store.close()


async def test_on_a_real_server_a_text_query_uses_the_trigram_index(
    mongodb_uri: str,
) -> None:
    from pymongo import AsyncMongoClient

    database = f"crm_text_{uuid.uuid4().hex[:12]}"
    store = MongoStore(mongodb_uri, database)
    await store.start(SPECS)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri)
    try:
        async with store.transaction() as session:
            await session.insert_many(
                "contacts", [_doc(f"Person {n} p{n}@example.com") for n in range(50)]
            )
        assert len(await _found(store, "person p17@")) == 1
        assert len(await _found(store, "person 7")) == 5  # 7, 17, 27, 37, 47: substrings
        where = condition("search", TextMatch("search", "erson"), indexed=True)
        query = {"tenant": TENANT, **where}
        plan = await client[database]["contacts"].find(query).explain()
        assert "ix_search_text_trigrams" in str(plan["queryPlanner"]["winningPlan"])
    finally:
        await store.close()
        await client.drop_database(database)
        await client.close()
