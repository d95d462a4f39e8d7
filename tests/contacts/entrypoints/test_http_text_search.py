"""`q` over the text index: transliterated folding, words in any order, every write path."""

from __future__ import annotations

from typing import Any

from crm_shared.events import ErasureRequested
from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope, import_batch


async def _found(harness: Harness, q: str) -> list[str]:
    response = await harness.client.get("/v1/contacts", params={"q": q}, headers=auth(VIEWER_KEY))
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


async def test_letters_without_accents_to_strip_are_found_by_their_ascii_spelling(
    harness: Harness,
) -> None:
    await harness.create(name="Ole Ødegaard", company="Ærø Færger")
    await harness.create(name="Hans Maier", company="Bahnhofstraße GmbH")
    await harness.create(name="Łukasz Wiśniewski", company="Łódź Soft")
    assert await _found(harness, "odegaard") == ["Ole Ødegaard"]
    assert await _found(harness, "AERO") == ["Ole Ødegaard"]
    assert await _found(harness, "bahnhofstrasse") == ["Hans Maier"]
    assert await _found(harness, "Bahnhofstraße") == ["Hans Maier"]
    assert await _found(harness, "lodz lukasz") == ["Łukasz Wiśniewski"]


async def test_words_match_in_any_order_and_phones_by_their_digits(harness: Harness) -> None:
    await harness.create(name="John Doe2 b23974", email="jd@example.com", phone="+1 415 555 0123")
    await harness.create(name="John Smith", email="js@example.com")
    assert await _found(harness, "john b23974") == ["John Doe2 b23974"]
    assert await _found(harness, "b23974 john") == ["John Doe2 b23974"]
    assert await _found(harness, "415-555-01") == ["John Doe2 b23974"]
    assert await _found(harness, "john") == ["John Doe2 b23974", "John Smith"]


async def test_a_query_too_short_for_the_index_matches_the_start_of_the_name(
    harness: Harness,
) -> None:
    await harness.create(name="Jo March")
    await harness.create(name="Øystein Jonsson")
    assert await _found(harness, "jo") == ["Jo March"]
    assert await _found(harness, "Øy") == ["Øystein Jonsson"]
    assert await _found(harness, "ar") == []


async def test_an_update_replaces_what_the_contact_is_found_by(harness: Harness) -> None:
    contact = await harness.create(name="Ada Lovelace", email="ada@engines.example")
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}", json={"name": "Ada King"}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 200, response.text
    assert await _found(harness, "lovelace") == []
    assert await _found(harness, "king engines") == ["Ada King"]


async def test_imported_contacts_are_found(harness: Harness) -> None:
    rows: list[dict[str, Any]] = [
        {"name": "Søren Kierkegaard", "email": "soren@example.dk"},
        {"name": "Niels Bohr", "email": "niels@example.dk"},
    ]
    await harness.handle(envelope(import_batch(rows)))
    assert await _found(harness, "soren kierkegaard") == ["Søren Kierkegaard"]
    assert await _found(harness, "example.dk bohr") == ["Niels Bohr"]


async def test_erased_and_deleted_contacts_are_not_found(harness: Harness) -> None:
    erased = await harness.create(name="Grace Hopper", email="grace@cobol.example")
    deleted = await harness.create(name="Grace Murray", email="murray@cobol.example")
    await harness.handle(
        envelope(ErasureRequested(erasure_id="er-1", contact_id=erased["id"], identifier_hashes=[]))
    )
    response = await harness.client.delete(
        f"/v1/contacts/{deleted['id']}", headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 204
    assert await _found(harness, "grace") == []
    assert await _found(harness, "cobol") == []
    assert await _found(harness, "erased contact") == []
