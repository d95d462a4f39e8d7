"""Store-derived fields (crm_shared.storage.derived), the same on every adapter.

A full read never gives them back, whatever the writer put there; a projection naming them gives
what their function makes of the document; queries on them follow inserts, replaces and
deletes, whatever values the writer put in the document.
"""

from __future__ import annotations

from typing import Any

from crm_shared.storage import Contains, ContainsAny, DocumentStore, Eq, Not, TextMatch
from crm_shared.storage.json_pages import find_json
from tests.shared.storage.derived_cards import CARDS, blurb, card, card_keys, labels_norm

T = "acme"


async def _ids(store: DocumentStore, *where: Any) -> list[str]:
    async with store.reader() as session:
        found = await session.find(CARDS, tenant=T, where=list(where), limit=100)
    return sorted(doc["id"] for doc in found)


async def test_a_full_read_leaves_the_derived_fields_out(store: DocumentStore) -> None:
    doc = card("Ada Lovelace", ["Ada@Example.com"], ["VIP"])
    async with store.transaction() as session:
        await session.insert(CARDS, doc)
    async with store.reader() as session:
        got = await session.get(CARDS, tenant=T, id=doc["id"])
        found = await session.find(CARDS, tenant=T)
        pages = await find_json(session, CARDS, tenant=T, paths=["name", "labels"])
    assert got is not None
    assert "keys" not in got and "labels_norm" not in got and "blurb" not in got
    assert got["emails"] == ["Ada@Example.com"] and got["labels"] == ["VIP"]
    assert found == [got]
    assert b"keys" not in pages[0][1] and b"labels_norm" not in pages[0][1]
    assert b"blurb" not in pages[0][1]


async def test_a_projection_naming_a_derived_field_gives_its_function_of_the_document(
    store: DocumentStore,
) -> None:
    doc = card("Ada Lovelace", ["Ada@Example.com", "ada@work.example"], ["VIP", "Board"])
    async with store.transaction() as session:
        await session.insert(CARDS, doc)
    async with store.reader() as session:
        [projected] = await session.find(CARDS, tenant=T, fields=["keys", "labels_norm", "name"])
        [(_, body)] = await find_json(session, CARDS, tenant=T, paths=["keys", "labels_norm"])
    expected_keys = ["e:ada@example.com", "e:ada@work.example", "n:ada lovelace"]
    assert projected["keys"] == card_keys(doc) == expected_keys
    assert projected["labels_norm"] == labels_norm(doc) == ["vip", "board"]
    assert projected["name"] == "Ada Lovelace"
    assert (
        body
        == (
            f'{{"id":"{doc["id"]}","keys":["e:ada@example.com","e:ada@work.example",'
            f'"n:ada lovelace"],"labels_norm":["vip","board"]}}'
        ).encode()
    )


async def test_queries_on_derived_fields_answer_from_the_function_not_the_writer(
    store: DocumentStore,
) -> None:
    ada = card("Ada", ["ADA@example.com"], ["VIP"])
    bob = card("Bob", ["bob@example.com"], ["vip", "Board"])
    eve = card("Eve", [], [])
    async with store.transaction() as session:
        await session.insert_many(CARDS, [ada, bob, eve])
    assert await _ids(store, Contains("keys", "e:ada@example.com")) == [ada["id"]]
    assert await _ids(store, Contains("keys", "e:written-by-the-caller")) == []
    assert await _ids(store, ContainsAny("keys", ("n:bob", "n:eve", "e:nobody"))) == sorted(
        [bob["id"], eve["id"]]
    )
    assert await _ids(store, Contains("labels_norm", "vip")) == sorted([ada["id"], bob["id"]])
    assert await _ids(store, ContainsAny("labels_norm", ("board", "none"))) == [bob["id"]]
    assert await _ids(store, Not(ContainsAny("labels_norm", ("vip",)))) == [eve["id"]]
    assert await _ids(store, Contains("labels_norm", "Written-By-The-Caller")) == []
    # A condition the side table does not lead: checked on each document's derived value.
    assert await _ids(store, Eq("name", "Bob"), Contains("keys", "e:bob@example.com")) == [
        bob["id"]
    ]
    async with store.reader() as session:
        assert await session.count(CARDS, tenant=T, where=[Contains("labels_norm", "vip")]) == 2


async def test_queries_on_derived_fields_follow_replaces_and_deletes(store: DocumentStore) -> None:
    ada = card("Ada", ["ada@example.com"], ["VIP"])
    bob = card("Bob", ["bob@example.com"], ["Board"])
    async with store.transaction() as session:
        await session.insert_many(CARDS, [ada, bob])
    changed = {**ada, "emails": ["ada@new.example"], "labels": ["Board"], "version": 2}
    gone = {**bob, "gone_at": "2026-01-01T00:00:00Z", "version": 2}
    async with store.transaction() as session:
        assert await session.replace(CARDS, changed, expected_version=1)
        assert await session.replace_many(CARDS, [gone], expected_versions=[1]) == 1
    assert await _ids(store, Contains("keys", "e:ada@example.com")) == []
    assert await _ids(store, Contains("keys", "e:ada@new.example")) == [ada["id"]]
    assert await _ids(store, Contains("keys", "n:bob")) == []  # gone: no keys
    assert await _ids(store, Contains("labels_norm", "vip")) == []
    assert await _ids(store, Contains("labels_norm", "board")) == sorted([ada["id"], bob["id"]])
    async with store.transaction() as session:
        assert await session.delete(CARDS, tenant=T, id=ada["id"])
    assert await _ids(store, Contains("keys", "e:ada@new.example")) == []
    assert await _ids(store, Contains("labels_norm", "board")) == [bob["id"]]


async def _found_by(store: DocumentStore, text: str, *where: Any) -> list[str]:
    return await _ids(store, TextMatch("blurb", text), *where)


async def test_a_text_search_on_a_derived_text_answers_from_the_function_not_the_writer(
    store: DocumentStore,
) -> None:
    ada = card("Ada Lovelace", ["ada@analytical.example"], [])
    bob = card("Bob Babbage", ["bob@engines.example", "b@work.example"], [])
    async with store.transaction() as session:
        await session.insert_many(CARDS, [ada, bob])
        [projected] = await session.find(
            CARDS, tenant=T, where=[Eq("id", ada["id"])], fields=["blurb"]
        )
    assert projected["blurb"] == blurb(ada) == "ada lovelace ada@analytical.example"
    assert await _found_by(store, "lovelace") == [ada["id"]]
    assert await _found_by(store, "caller") == []  # the writer's value is not what is indexed
    assert await _found_by(store, "example") == sorted([ada["id"], bob["id"]])
    # Words of two fields, in any order; a short word is checked on the text the index chose.
    assert await _found_by(store, "work.example bob") == [bob["id"]]
    assert await _found_by(store, "babbage b@") == [bob["id"]]
    # Every trigram of "lovelaceada" is in Ada's text, the word is not.
    assert await _found_by(store, "lovelaceada") == []
    assert await _found_by(store, "lovelace", Eq("name", "Bob Babbage")) == []
    async with store.reader() as session:
        assert await session.count(CARDS, tenant=T, where=[TextMatch("blurb", "example")]) == 2
        assert await session.count(CARDS, tenant=T, where=[TextMatch("blurb", "caller")]) == 0


async def test_a_text_search_on_a_derived_text_follows_replaces_and_deletes(
    store: DocumentStore,
) -> None:
    ada = card("Ada", ["ada@analytical.example"], [])
    bob = card("Bob", ["bob@engines.example"], [])
    async with store.transaction() as session:
        await session.insert_many(CARDS, [ada, bob])
    moved = {**ada, "emails": ["ada@difference.example"], "version": 2}
    gone = {**bob, "gone_at": "2026-01-01T00:00:00Z", "version": 2}
    relabelled = {**moved, "labels": ["VIP"], "blurb": "written again", "version": 3}
    async with store.transaction() as session:
        assert await session.replace(CARDS, moved, expected_version=1)
        assert await session.replace_many(CARDS, [gone], expected_versions=[1]) == 1
        assert await session.replace(CARDS, relabelled, expected_version=2)
    assert await _found_by(store, "analytical") == []
    assert await _found_by(store, "difference") == [ada["id"]]
    assert await _found_by(store, "bob") == []  # gone: no text
    assert await _found_by(store, "again") == []
    async with store.transaction() as session:
        assert await session.delete(CARDS, tenant=T, id=ada["id"])
    assert await _found_by(store, "difference") == []
    assert await _found_by(store, "example") == []
