"""The profile over HTTP: additional emails and phones, owner, source, IDNA emails, erasure."""

from __future__ import annotations

from typing import Any

from crm_contacts.adapters.repository import ContactRepository
from crm_shared.events import ContactCreated, ContactUpdated, ErasureRequested
from crm_shared.storage import In
from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope


async def _patch(harness: Harness, contact_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await harness.client.patch(
        f"/v1/contacts/{contact_id}", json=body, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _create_status(harness: Harness, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await harness.client.post(
        "/v1/contacts", json={"name": "Ada", **body}, headers=auth(EDITOR_KEY)
    )
    return response.status_code, dict(response.json())


async def test_create_keeps_additional_emails_phones_and_owner_normalized(
    harness: Harness,
) -> None:
    contact = await harness.create(
        email="ada@example.com",
        emails=["Ada@Home.example", "ada@EXAMPLE.com", "ada@home.example"],
        phone="+1 415 555 2671",
        phones=["+44 20 7946 0958", "(415) 555-2671"],
        owner=" user-42 ",
    )
    assert contact["emails"] == ["ada@home.example"]
    assert (contact["phones"], contact["phones_raw"]) == (["+442079460958"], ["+44 20 7946 0958"])
    assert contact["owner"] == "user-42"
    fetched = await harness.client.get(f"/v1/contacts/{contact['id']}", headers=auth(VIEWER_KEY))
    assert fetched.json() == contact


async def test_invalid_additional_email_is_422_naming_its_position(harness: Harness) -> None:
    status, body = await _create_status(harness, {"emails": ["ok@example.com", "not-an-email"]})
    assert status == 422
    assert "emails[1] is not a valid address" in body["detail"]
    assert body["errors"][0]["loc"] == ["body", "emails[1]"]


async def test_unparseable_additional_phone_is_422_naming_its_position(harness: Harness) -> None:
    status, body = await _create_status(harness, {"phones": ["+1 415 555 2671", "12"]})
    assert status == 422
    assert body["detail"] == "phones[1] is not a valid phone number"


async def test_more_than_ten_additional_phones_is_422(harness: Harness) -> None:
    phones = [f"+1 415 555 {n:04d}" for n in range(2671, 2682)]
    status, body = await _create_status(harness, {"phones": phones})
    assert status == 422
    assert body["detail"] == "phones must hold at most 10 distinct values"


async def test_owner_longer_than_100_characters_is_422(harness: Harness) -> None:
    status, body = await _create_status(harness, {"owner": "u" * 101})
    assert status == 422
    assert body["detail"] == "owner must be 1-100 characters"


async def test_unknown_source_is_422(harness: Harness) -> None:
    status, _ = await _create_status(harness, {"source": "carrier-pigeon"})
    assert status == 422


async def test_source_is_kept_and_published(harness: Harness) -> None:
    contact = await harness.create(source="chat")
    assert contact["source"] == "chat"
    [event] = await harness.outbox(ContactCreated.event_type)
    assert event.data["source"] == "chat"


async def test_internationalized_domain_is_stored_in_idna_form(harness: Harness) -> None:
    contact = await harness.create(email="Info@Bücher.de", emails=["verkauf@bücher.de"])
    assert contact["email"] == "info@xn--bcher-kva.de"
    assert contact["emails"] == ["verkauf@xn--bcher-kva.de"]


async def test_idna_and_unicode_spellings_are_the_same_address_for_duplicates(
    harness: Harness,
) -> None:
    first = await harness.create(email="info@bücher.de")
    status, body = await _create_status(harness, {"email": "INFO@xn--bcher-kva.de"})
    assert status == 409
    assert body["existing_id"] == first["id"]


async def test_duplicate_detection_ignores_additional_emails(harness: Harness) -> None:
    await harness.create(email="ada@example.com", emails=["shared@example.com"])
    status, _ = await _create_status(harness, {"email": "shared@example.com"})
    assert status == 201


async def test_contact_created_carries_the_new_profile_fields(harness: Harness) -> None:
    await harness.create(emails=["a@home.example"], phones=["+44 20 7946 0958"], owner="u1")
    [event] = await harness.outbox(ContactCreated.event_type)
    profile = event.data["profile"]
    assert (profile["emails"], profile["phones"], profile["owner"]) == (
        ["a@home.example"],
        ["+442079460958"],
        "u1",
    )


async def test_patch_additional_emails_publishes_before_and_after(harness: Harness) -> None:
    contact = await harness.create(emails=["a@home.example"])
    body = await _patch(harness, contact["id"], {"emails": ["b@home.example", "a@home.example"]})
    assert body["emails"] == ["b@home.example", "a@home.example"]
    [event] = await harness.outbox(ContactUpdated.event_type)
    assert event.data["changes"] == {
        "emails": {"before": ["a@home.example"], "after": ["b@home.example", "a@home.example"]}
    }


async def test_patch_owner_publishes_before_and_after_and_null_clears_it(
    harness: Harness,
) -> None:
    contact = await harness.create(owner="u1")
    await _patch(harness, contact["id"], {"owner": "u2"})
    cleared = await _patch(harness, contact["id"], {"owner": None})
    assert cleared["owner"] is None
    changes = [e.data["changes"] for e in await harness.outbox(ContactUpdated.event_type)]
    assert changes == [
        {"owner": {"before": "u1", "after": "u2"}},
        {"owner": {"before": "u2", "after": None}},
    ]


async def test_patch_with_the_same_phones_typed_differently_changes_nothing(
    harness: Harness,
) -> None:
    contact = await harness.create(phones=["(415) 555-2671"])
    body = await _patch(harness, contact["id"], {"phones": ["+1 415 555 2671"]})
    assert (body["version"], body["phones_raw"]) == (1, ["(415) 555-2671"])
    assert await harness.outbox(ContactUpdated.event_type) == []


async def test_patch_promoting_an_additional_email_drops_it_from_the_list(
    harness: Harness,
) -> None:
    contact = await harness.create(email="ada@example.com", emails=["ada@home.example"])
    body = await _patch(harness, contact["id"], {"email": "ada@home.example"})
    assert (body["email"], body["emails"]) == ("ada@home.example", [])
    [event] = await harness.outbox(ContactUpdated.event_type)
    assert set(event.data["changes"]) >= {"email", "emails"}


async def test_invalid_additional_email_in_patch_is_422(harness: Harness) -> None:
    contact = await harness.create()
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}", json={"emails": ["@@"]}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "emails[0] is not a valid address"


async def test_search_finds_a_contact_by_an_additional_email(harness: Harness) -> None:
    contact = await harness.create(email="ada@example.com", emails=["lovelace@home.example"])
    await harness.create(name="Grace", email="grace@example.com")
    listed = await harness.client.get(
        "/v1/contacts", params={"q": "lovelace@home"}, headers=auth(VIEWER_KEY)
    )
    assert [c["id"] for c in listed.json()["items"]] == [contact["id"]]


async def _erase(harness: Harness, contact_id: str) -> None:
    request = ErasureRequested(erasure_id="er-1", contact_id=contact_id, identifier_hashes=[])
    await harness.handle(envelope(request))


async def test_erasure_clears_additional_emails_phones_owner_and_account(
    harness: Harness,
) -> None:
    contact = await harness.create(
        emails=["a@home.example"], phones=["+44 20 7946 0958"], owner="u1", company="Acme"
    )
    await _erase(harness, contact["id"])
    async with harness.app.state.store.reader() as session:
        stored = await ContactRepository(session, "acme").get(contact["id"])
        held = await session.find(
            "contacts", tenant="acme", where=[In("id", (contact["id"],))], fields=["search_text"]
        )
    assert stored is not None
    cleared = ("emails", "phones", "phones_raw", "owner", "account_id")
    assert [stored[f] for f in cleared] == [[], [], [], None, None]
    assert held[0]["search_text"] == ""  # found by no text search


async def test_erased_additional_email_cannot_come_back_as_a_primary(harness: Harness) -> None:
    contact = await harness.create(email="ada@example.com", emails=["ada@home.example"])
    await _erase(harness, contact["id"])
    status, body = await _create_status(harness, {"email": "ADA@home.example"})
    assert status == 409
    assert "erased" in body["detail"]


async def test_erased_additional_phone_cannot_come_back_as_an_additional_phone(
    harness: Harness,
) -> None:
    contact = await harness.create(phones=["+44 20 7946 0958"])
    await _erase(harness, contact["id"])
    status, _ = await _create_status(harness, {"phones": ["+442079460958"]})
    assert status == 409
