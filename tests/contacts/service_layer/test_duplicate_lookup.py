"""The indexed duplicate look-up (create-time check, a contact's duplicates) under common names."""

from __future__ import annotations

from typing import Any, cast

from crm_contacts.domain.matching import match_keys
from crm_contacts.service_layer.duplicates import (
    IDENTIFIER_CANDIDATES,
    NAME_CANDIDATES,
    WEAK_HOLDERS,
    find_matches,
)
from crm_shared.storage import Session
from crm_shared.storage.memory import MemoryStore

TENANT = "acme"
# More holders of one name block than a look-up reads of it (and than it read before the cap).
CROWD = 210


def _contact(contact_id: str, **fields: Any) -> dict[str, Any]:
    doc = {"id": contact_id, "tenant": TENANT, "deleted_at": None, "merged_into": None, **fields}
    return doc | {"match_keys": match_keys(doc)}


async def _insert(store: MemoryStore, docs: list[dict[str, Any]]) -> None:
    async with store.transaction() as session:
        await session.insert_many("contacts", docs)


async def _matches(store: MemoryStore, **fields: Any) -> dict[str, tuple[str, ...]]:
    async with store.reader() as session:
        found = await find_matches(session, TENANT, _contact("probe", **fields))
    return {match.contact_id: match.reasons for match, _ in found}


async def test_a_shared_identifier_is_found_however_common_the_name(store: MemoryStore) -> None:
    crowd = [_contact(f"a{i:03d}", name="John Smith", company="Globex") for i in range(CROWD)]
    await _insert(store, [*crowd, _contact("z", name="J. Smith", phone="+14155550100")])

    found = await _matches(store, name="John Smith", company="Acme", phone="+14155550100")

    assert found == {"z": ("same_phone", "similar_name")}


async def test_a_surname_typo_that_changes_its_sound_is_found(store: MemoryStore) -> None:
    await _insert(store, [_contact("z", name="John Smith", company="Acme")])

    found = await _matches(store, name="John Slmith", company="Acme")

    assert found == {"z": ("similar_name", "same_company")}


async def test_the_exact_name_is_read_before_a_crowd_of_similar_ones(store: MemoryStore) -> None:
    # Older contacts sharing the sound and last name + initial blocks, at another company.
    crowd = [_contact(f"a{i:03d}", name="Jon Smith", company="Globex") for i in range(CROWD)]
    await _insert(store, [*crowd, _contact("z", name="John Smith", company="Acme")])

    found = await _matches(store, name="john SMITH", company="ACME")

    assert found == {"z": ("similar_name", "same_company")}


async def test_a_common_name_reads_at_most_the_cap_of_its_holders(store: MemoryStore) -> None:
    crowd = [_contact(f"a{i:03d}", name="John Smith") for i in range(CROWD)]
    await _insert(store, crowd)

    found = await _matches(store, name="John Smith")

    # With no company on either side each is a possible duplicate: the cap bounds the work.
    assert len(found) == NAME_CANDIDATES


# More holders of the probe's blocks than one query reads of them together (identifiers, the
# exact name and the other name blocks): each block is then read by itself, with its own cap.
BIG_CROWD = IDENTIFIER_CANDIDATES + 2 * NAME_CANDIDATES + 10


async def test_beyond_one_query_a_shared_identifier_is_still_found(store: MemoryStore) -> None:
    crowd = [_contact(f"a{i:03d}", name="John Smith", company="Globex") for i in range(BIG_CROWD)]
    await _insert(store, [*crowd, _contact("z", name="J. Smith", phone="+14155550100")])

    found = await _matches(store, name="John Smith", company="Acme", phone="+14155550100")

    assert found == {"z": ("same_phone", "similar_name")}


async def test_beyond_one_query_the_exact_name_comes_first_and_the_cap_holds(
    store: MemoryStore,
) -> None:
    similar = [_contact(f"a{i:03d}", name="Jon Smith") for i in range(BIG_CROWD)]
    exact = [_contact(f"b{i:03d}", name="John Smith") for i in range(NAME_CANDIDATES + 5)]
    await _insert(store, [*similar, *exact])

    found = await _matches(store, name="John Smith")

    assert len(found) == NAME_CANDIDATES
    assert all(contact_id.startswith("b") for contact_id in found)


async def test_matches_come_with_their_whole_documents(store: MemoryStore) -> None:
    await _insert(store, [_contact("z", name="Ada Lovelace", email="ada@example.org", tags=["x"])])

    async with store.reader() as session:
        found = await find_matches(session, TENANT, _contact("probe", email="ada@example.org"))

    [(match, doc)] = found
    assert match.contact_id == "z"
    assert doc["tags"] == ["x"] and doc["email"] == "ada@example.org"


class _CountingSession:
    """A session that counts the contact documents its finds return (what a look-up reads)."""

    def __init__(self, inner: Session) -> None:
        self._inner = inner
        self.read = 0

    async def find(self, collection: str, **kwargs: Any) -> list[dict[str, Any]]:
        found = await self._inner.find(collection, **kwargs)
        if collection == "contacts":
            self.read += len(found)
        return found


async def _counted_matches(store: MemoryStore, **fields: Any) -> tuple[dict[str, Any], int]:
    """What a look-up found (id -> reasons) and how many contact documents it read."""
    async with store.reader() as session:
        counting = _CountingSession(session)
        found = await find_matches(cast(Session, counting), TENANT, _contact("probe", **fields))
    return {match.contact_id: match.reasons for match, _ in found}, counting.read


# Holders of a weak name block (first name + last initial): every "John S..." at other companies.
# More of them than a look-up reads of any one block whole, fewer than it reads the names of.
WEAK_CROWD = 4 * NAME_CANDIDATES
assert 2 * NAME_CANDIDATES < WEAK_CROWD < WEAK_HOLDERS


def _john_s_crowd() -> list[dict[str, Any]]:
    surnames = [f"S{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}qx{i:03d}" for i in range(WEAK_CROWD)]
    return [
        _contact(f"a{i:03d}", name=f"John {surname}", company="Globex")
        for i, surname in enumerate(surnames)
    ]


async def test_a_name_found_in_the_strong_blocks_leaves_the_weak_crowd_unread(
    store: MemoryStore,
) -> None:
    await _insert(store, [*_john_s_crowd(), _contact("z", name="John Smith", company="Acme")])

    found, read = await _counted_matches(store, name="John Smith", company="Acme")

    assert found == {"z": ("similar_name", "same_company")}
    # The exact name's holder only: read for its name, its sound, then whole for the answer.
    assert read <= 3


async def test_a_surname_typo_is_found_behind_a_crowd_sharing_its_weak_block(
    store: MemoryStore,
) -> None:
    # "Slmith" shares only "f:john s" with "Smith": older holders of it fill any first page.
    await _insert(store, [*_john_s_crowd(), _contact("z", name="John Smith", company="Acme")])

    found, read = await _counted_matches(store, name="John Slmith", company="Acme")

    assert found == {"z": ("similar_name", "same_company")}
    # The crowd's names are read; whole views (and the answer) only of the similar one.
    assert read <= WEAK_CROWD + 1 + 2
