"""Text search (TextMatch over folded text) means the same on every adapter of the storage port.

Texts are stored and queried folded by `crm_shared.text.search_fold`, as the contacts service
does; the SQLite adapter answers through its FTS5 trigram index, MongoDB through a multikey index
of trigrams (storage/mongo_text.py), the memory store by scanning.
"""

from __future__ import annotations

from typing import Any

import pytest

from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore, TextMatch, Where
from crm_shared.text import search_fold

T1 = "tenant-a"
T2 = "tenant-b"

PEOPLE = {
    "ole": "Ole Ødegaard ole.odegaard@fjord.example +4722334455 4722334455 Fjord AS",
    "strasse": "Hans Maier hans@strasse.example Bahnhofstraße GmbH",
    "lodz": "Łukasz Wiśniewski lukasz@lodz.example Łódź Software",
    "aero": "Ærø Færgen info@aero.example",
    "john": "John Doe2 b23974 john.doe2@example.com +14155550123 14155550123",
    "ada": "Ada Lovelace ada.lovelace@engine.example Analytical Engines",
}


def person(name: str, tenant: str = T1) -> dict[str, Any]:
    return {"id": new_id(), "tenant": tenant, "version": 1, "search": search_fold(PEOPLE[name])}


@pytest.fixture
async def people(store: DocumentStore) -> dict[str, dict[str, Any]]:
    docs = {name: person(name) for name in PEOPLE}
    async with store.transaction() as session:
        await session.insert_many("contacts", [*docs.values(), person("ada", T2)])
    return docs


async def found(store: DocumentStore, query: str, *more: Where) -> set[str]:
    where = (TextMatch("search", search_fold(query)), *more)
    async with store.reader() as session:
        docs = await session.find("contacts", tenant=T1, where=where, limit=100)
        assert await session.count("contacts", tenant=T1, where=where) == len(docs)
    return {d["id"] for d in docs}


def ids(people: dict[str, dict[str, Any]], *names: str) -> set[str]:
    return {people[name]["id"] for name in names}


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("odegaard", "ole"),
        ("ØDEGAARD", "ole"),
        ("strasse", "strasse"),
        ("Bahnhofstraße", "strasse"),
        ("lodz software", "lodz"),
        ("Łódź", "lodz"),
        ("aero", "aero"),
        ("Ærø", "aero"),
        ("faergen", "aero"),
    ],
)
async def test_letters_without_an_accent_decomposition_are_transliterated_both_ways(
    store: DocumentStore, people: dict[str, dict[str, Any]], query: str, name: str
) -> None:
    assert await found(store, query) == ids(people, name)


async def test_words_match_in_any_order_and_every_word_must_match(
    store: DocumentStore, people: dict[str, dict[str, Any]]
) -> None:
    assert await found(store, "john b23974") == ids(people, "john")
    assert await found(store, "b23974 JOHN") == ids(people, "john")
    assert await found(store, "john lovelace") == set()


async def test_a_phone_is_found_by_its_digits_and_an_email_by_a_substring(
    store: DocumentStore, people: dict[str, dict[str, Any]]
) -> None:
    assert await found(store, "4155550123") == ids(people, "john")
    assert await found(store, "5550") == ids(people, "john")
    assert await found(store, "velace@eng") == ids(people, "ada")
    assert await found(store, "@fjord.ex") == ids(people, "ole")


async def test_short_words_narrow_what_the_longer_words_found(
    store: DocumentStore, people: dict[str, dict[str, Any]]
) -> None:
    assert await found(store, "ada lo") == ids(people, "ada")
    assert await found(store, "ada zq") == set()
    assert await found(store, "example jo") == ids(people, "john", "ole")  # fJOrd


async def test_a_search_sees_only_its_own_tenant(
    store: DocumentStore, people: dict[str, dict[str, Any]]
) -> None:
    assert await found(store, "lovelace") == ids(people, "ada")


async def test_the_index_follows_replaces_deletes_and_erasures(
    store: DocumentStore, people: dict[str, dict[str, Any]]
) -> None:
    ada, john, ole = people["ada"], people["john"], people["ole"]
    async with store.transaction() as session:
        changed = {**ada, "search": search_fold("Ada King ada.king@engine.example")}
        assert await session.replace("contacts", changed)
        # An erasure empties the text: the contact must no longer be found by what it held.
        assert await session.replace("contacts", {**ole, "search": ""})
        assert await session.delete("contacts", tenant=T1, id=john["id"])
    assert await found(store, "lovelace") == set()
    assert await found(store, "king engine") == ids(people, "ada")
    assert await found(store, "odegaard") == set()
    assert await found(store, "b23974") == set()
    async with store.transaction() as session:
        await session.insert("contacts", {**john, "id": new_id()})
    assert len(await found(store, "b23974")) == 1
