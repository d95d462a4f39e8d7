"""Identity resolution over HTTP: upserts by an external system's id and by email."""

from __future__ import annotations

from typing import Any

import httpx

from crm_shared.events import ContactCreated, ContactUpdated, ErasureRequested
from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope

SHOP = "/v1/contacts/by-external-id/shop"


async def _put(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], *, key: str = EDITOR_KEY, **h: str
) -> httpx.Response:
    return await client.put(path, json=body, headers={**auth(key), **h})


async def test_an_unknown_external_id_creates_the_contact_then_updates_it(harness: Harness) -> None:
    created = await _put(harness.client, f"{SHOP}/c-1", {"name": "Ada", "email": "ada@x.example"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["external_ids"] == {"shop": "c-1"}
    assert body["source"] == "integration" and body["sources"] == ["integration"]
    assert created.headers["Location"] == f"/v1/contacts/{body['id']}"
    assert created.headers["ETag"] == '"1"'

    updated = await _put(harness.client, f"{SHOP}/c-1", {"company": "Analytical"})
    assert updated.status_code == 200
    assert updated.json()["id"] == body["id"]
    assert updated.json()["company"] == "Analytical" and updated.headers["ETag"] == '"2"'

    read = await harness.client.get(f"{SHOP}/c-1", headers=auth(VIEWER_KEY))
    assert read.status_code == 200 and read.json()["id"] == body["id"]
    assert read.headers["ETag"] == '"2"'
    assert [e.type for e in await harness.outbox()][-2:] == [
        ContactCreated.event_type,
        ContactUpdated.event_type,
    ]


async def test_an_unknown_external_id_reads_as_404(harness: Harness) -> None:
    response = await harness.client.get(f"{SHOP}/nobody", headers=auth(VIEWER_KEY))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_existing_person_is_found_by_email_and_gets_each_systems_id(
    harness: Harness,
) -> None:
    manual = await harness.create(name="Ada Lovelace", email="ada@x.example")
    shop = await _put(harness.client, f"{SHOP}/c-1", {"email": "ADA@x.example"})
    crm = await _put(
        harness.client, "/v1/contacts/by-external-id/hubspot/77", {"email": "ada@x.example"}
    )
    assert shop.status_code == crm.status_code == 200
    assert shop.json()["id"] == crm.json()["id"] == manual["id"]
    assert crm.json()["external_ids"] == {"shop": "c-1", "hubspot": "77"}
    assert crm.json()["sources"] == ["manual", "integration"]
    # Found by either system's id from now on.
    again = await _put(harness.client, "/v1/contacts/by-external-id/hubspot/77", {})
    assert again.status_code == 200 and again.json()["id"] == manual["id"]


async def test_a_person_is_found_by_phone_when_no_id_or_email_matches(harness: Harness) -> None:
    manual = await harness.create(name="Ada", phone="+1 415 555 2671")
    found = await _put(harness.client, f"{SHOP}/c-9", {"phone": "(415) 555-2671"})
    assert found.status_code == 200 and found.json()["id"] == manual["id"]


async def test_values_are_never_blanked_and_new_emails_and_phones_are_added(
    harness: Harness,
) -> None:
    await _put(
        harness.client,
        f"{SHOP}/c-1",
        {"name": "Ada", "email": "ada@x.example", "phone": "+14155552671", "company": "AE"},
    )
    response = await _put(
        harness.client,
        f"{SHOP}/c-1",
        {
            "name": None,
            "company": None,
            "email": "ada@home.example",
            "phone": "+442079460958",
            "tags": ["VIP"],
        },
    )
    contact = response.json()
    assert (contact["name"], contact["company"]) == ("Ada", "AE")
    assert contact["email"] == "ada@x.example" and contact["emails"] == ["ada@home.example"]
    assert contact["phone"] == "+14155552671" and contact["phones"] == ["+442079460958"]
    assert "VIP" in contact["tags"]


async def test_an_older_write_fills_blanks_but_never_overwrites_a_newer_value(
    harness: Harness,
) -> None:
    await _put(
        harness.client,
        f"{SHOP}/c-1",
        {"name": "Ada King", "email": "ada@x.example", "occurred_at": "2026-03-01T10:00:00Z"},
    )
    older = await _put(
        harness.client,
        f"{SHOP}/c-1",
        {"name": "Ada Byron", "company": "AE", "occurred_at": "2026-02-01T10:00:00Z"},
    )
    assert older.json()["name"] == "Ada King"  # the newer name stays
    assert older.json()["company"] == "AE"  # a blank is filled by any write
    newer = await _put(
        harness.client,
        f"{SHOP}/c-1",
        {"name": "Ada Lovelace", "occurred_at": "2026-04-01T10:00:00+02:00"},
    )
    assert newer.json()["name"] == "Ada Lovelace"


async def test_another_id_of_the_same_system_is_a_conflict(harness: Harness) -> None:
    await _put(harness.client, f"{SHOP}/c-1", {"name": "Ada", "email": "ada@x.example"})
    response = await _put(harness.client, f"{SHOP}/c-2", {"email": "ada@x.example"})
    assert response.status_code == 409
    assert "another shop id" in response.json()["detail"]


async def test_a_stale_if_match_is_412_and_a_current_one_applies(harness: Harness) -> None:
    await _put(harness.client, f"{SHOP}/c-1", {"name": "Ada", "email": "ada@x.example"})
    stale = await _put(harness.client, f"{SHOP}/c-1", {"company": "AE"}, **{"If-Match": '"7"'})
    assert stale.status_code == 412
    current = await _put(harness.client, f"{SHOP}/c-1", {"company": "AE"}, **{"If-Match": '"1"'})
    assert current.status_code == 200 and current.json()["company"] == "AE"
    missing = await _put(harness.client, f"{SHOP}/c-404", {"name": "X"}, **{"If-Match": '"1"'})
    assert missing.status_code == 412


async def test_bad_system_names_and_fields_are_422_naming_them(harness: Harness) -> None:
    bad_system = await _put(harness.client, "/v1/contacts/by-external-id/Shop:1/c-1", {})
    assert bad_system.status_code == 422
    assert bad_system.headers["content-type"] == "application/problem+json"
    bad_email = await _put(harness.client, f"{SHOP}/c-1", {"email": "not an email"})
    assert bad_email.status_code == 422 and "email" in bad_email.json()["detail"]
    naive = await _put(
        harness.client, f"{SHOP}/c-1", {"name": "A", "occurred_at": "2026-01-01T10:00:00"}
    )
    assert naive.status_code == 422
    # Nothing was written by the refused requests.
    assert (await harness.client.get(f"{SHOP}/c-1", headers=auth(VIEWER_KEY))).status_code == 404


async def test_a_create_without_name_is_named_by_its_email(harness: Harness) -> None:
    response = await _put(harness.client, f"{SHOP}/c-1", {"email": "ada@x.example"})
    assert response.status_code == 201 and response.json()["name"] == "ada@x.example"


async def test_by_email_finds_or_creates(harness: Harness) -> None:
    created = await _put(
        harness.client, "/v1/contacts/by-email/Ada@X.example", {"name": "Ada", "source": "chat"}
    )
    assert created.status_code == 201
    assert created.json()["email"] == "ada@x.example" and created.json()["source"] == "chat"
    found = await _put(harness.client, "/v1/contacts/by-email/ada@x.example", {"company": "AE"})
    assert found.status_code == 200 and found.json()["id"] == created.json()["id"]
    assert found.json()["company"] == "AE"


async def test_by_email_refuses_a_bad_address_and_an_email_in_the_body(harness: Harness) -> None:
    bad = await _put(harness.client, "/v1/contacts/by-email/nobody", {"name": "X"})
    assert bad.status_code == 422
    twice = await _put(
        harness.client, "/v1/contacts/by-email/a@x.example", {"email": "b@x.example"}
    )
    assert twice.status_code == 422 and "path" in twice.json()["detail"]


async def test_an_erased_person_is_refused_on_both_upserts(harness: Harness) -> None:
    contact = await harness.create(name="Ada", email="ada@x.example", phone="+14155552671")
    erasure = ErasureRequested(erasure_id="er-1", contact_id=contact["id"])
    await harness.handle(envelope(erasure))
    for path, body in (
        (f"{SHOP}/c-1", {"email": "ada@x.example"}),
        (f"{SHOP}/c-2", {"name": "A", "phone": "(415) 555-2671"}),
        ("/v1/contacts/by-email/ADA@x.example", {"name": "Ada"}),
    ):
        response = await _put(harness.client, path, body)
        assert response.status_code == 409, path
        assert "erased at their request" in response.json()["detail"]
    assert (await harness.client.get(f"{SHOP}/c-1", headers=auth(VIEWER_KEY))).status_code == 404


async def test_another_tenant_neither_sees_nor_resolves_to_the_contact(harness: Harness) -> None:
    mine = await _put(harness.client, f"{SHOP}/c-1", {"name": "Ada", "email": "ada@x.example"})
    hidden = await harness.client.get(f"{SHOP}/c-1", headers=auth(OTHER_TENANT_KEY))
    assert hidden.status_code == 404
    theirs = await _put(
        harness.client, f"{SHOP}/c-1", {"email": "ada@x.example"}, key=OTHER_TENANT_KEY
    )
    assert theirs.status_code == 201 and theirs.json()["id"] != mine.json()["id"]


async def test_upserts_need_an_editor_key(harness: Harness) -> None:
    viewer = await _put(harness.client, f"{SHOP}/c-1", {"name": "A"}, key=VIEWER_KEY)
    assert viewer.status_code == 403
    anonymous = await harness.client.put(f"{SHOP}/c-1", json={"name": "A"})
    assert anonymous.status_code == 401
