"""A re-match round skips the look-ups of a contact alone in its blocks, and finds the same."""

from __future__ import annotations

from typing import Any

from crm_contacts.domain.contact import new_contact
from crm_contacts.domain.contact_doc import as_stored
from crm_contacts.service_layer.duplicates import match_list, rematch_round
from crm_contacts.service_layer.rematch_blocks import RoundBlocks
from crm_shared.ids import new_id
from crm_shared.storage.memory import MemoryStore

TENANT = "acme"
NOW = "2026-01-01T00:00:00.000000Z"


def _stored(profile: dict[str, Any]) -> dict[str, Any]:
    doc = new_contact(contact_id=new_id(), tenant=TENANT, profile=profile, source="import", now=NOW)
    return as_stored(doc)


async def _round_blocks(store: MemoryStore, docs: list[dict[str, Any]]) -> RoundBlocks:
    async with store.transaction() as session:
        await session.insert_many("contacts", docs)
    blocks = RoundBlocks(store, TENANT)
    profiles = list((await blocks.read_contacts([d["id"] for d in docs])).values())
    await blocks.read_strong(profiles)
    await blocks.read_weak(profiles)
    return blocks


async def test_a_contact_alone_in_its_blocks_is_told_apart_from_one_sharing_them(
    store: MemoryStore,
) -> None:
    loner = _stored({"name": "Zebediah Quartermain", "email": "zq@example.org"})
    ada = _stored({"name": "Ada Lovelace", "email": "ada@example.org"})
    # Another Ada: her strong blocks (exact name, sound) are shared.
    twin = _stored({"name": "Ada Lovelace", "email": "countess@example.org"})
    # Another initial only: alone in the strong blocks, beside Ada in the weak "l:" block.
    alan = _stored({"name": "Alan Lovelace", "phone": "+14155550111"})
    blocks = await _round_blocks(store, [loner, ada, twin, alan])

    def alone(doc: dict[str, Any], *, weak: bool) -> bool:
        return blocks.holds_alone(blocks.profile(doc), weak=weak)

    assert alone(loner, weak=False) and alone(loner, weak=True)
    assert not alone(ada, weak=False) and not alone(twin, weak=False)
    assert alone(alan, weak=False)
    assert not alone(alan, weak=True) and not alone(ada, weak=True)


async def test_a_key_the_round_did_not_read_whole_is_never_taken_as_held_alone(
    store: MemoryStore,
) -> None:
    loner = _stored({"name": "Zebediah Quartermain", "email": "zq@example.org"})
    blocks = RoundBlocks(store, TENANT)
    async with store.transaction() as session:
        await session.insert_many("contacts", [loner])
    (profile,) = (await blocks.read_contacts([loner["id"]])).values()

    # Nothing of its blocks was read yet: the look-ups must go on.
    assert not blocks.holds_alone(profile, weak=False)
    assert not blocks.holds_alone(profile, weak=True)


async def test_a_round_with_contacts_alone_in_their_blocks_finds_what_their_look_ups_find(
    store: MemoryStore,
) -> None:
    docs = [
        _stored({"name": "Zebediah Quartermain", "email": "zq@example.org"}),
        _stored({"name": "Ada Lovelace", "company": "Acme", "email": "ada@example.org"}),
        _stored({"name": "Ada Lovelace", "company": "Acme", "email": "countess@example.org"}),
        _stored({"name": "Alan Lovelace", "company": "Acme", "phone": "+14155550111"}),
        _stored({"name": "Alan Lovelce", "company": "Acme", "phone": "+14155550112"}),
        _stored({"name": "Front Desk", "phone": "+14155550100"}),
        _stored({"name": "Maria Lopez", "phone": "+14155550100"}),
    ]
    async with store.transaction() as session:
        await session.insert_many("contacts", docs)
        one_by_one = {d["id"]: await match_list(session, TENANT, d) for d in docs}

    found = await rematch_round(store, TENANT, [d["id"] for d in docs])

    assert found == one_by_one
    assert found[docs[0]["id"]] == []
    assert [m.contact_id for m in found[docs[1]["id"]]] == [docs[2]["id"]]
    assert [m.contact_id for m in found[docs[5]["id"]]] == [docs[6]["id"]]
