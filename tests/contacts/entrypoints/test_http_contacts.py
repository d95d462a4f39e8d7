"""The contact lifecycle over HTTP: create, read, patch, delete, restore, and their events."""

from __future__ import annotations

from typing import Any

from crm_shared.events import (
    ContactCreated,
    ContactDeleted,
    ContactRestored,
    ContactUpdated,
)
from crm_shared.topics import CONTACT_EVENTS
from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.contacts.custom_field_support import define_fields
from tests.contacts.helpers import Harness

FULL: dict[str, Any] = {
    "name": "  Ada Lovelace ",
    "email": "Ada@Example.com",
    "phone": "(415) 555-2671",
    "company": "Analytical Engines",
    "timezone": "Europe/London",
    "tags": ["VIP", "vip", "Customer"],
    "custom_fields": {"plan": "pro", "seats": 3},
}
# FULL's custom fields must be defined first: values are typed against their definitions.
FULL_FIELDS = {"plan": "text", "seats": "number"}


async def test_create_returns_the_normalized_contact_with_etag_and_location(
    harness: Harness,
) -> None:
    await define_fields(harness, **FULL_FIELDS)
    response = await harness.client.post("/v1/contacts", json=FULL, headers=auth(EDITOR_KEY))
    assert response.status_code == 201
    body = response.json()
    assert body["version"] == 1
    assert body["name"] == "Ada Lovelace"
    assert body["email"] == "ada@example.com"
    assert (body["phone"], body["phone_raw"]) == ("+14155552671", "(415) 555-2671")
    assert body["tags"] == ["VIP", "Customer", "source:manual"]  # plus the system tag
    assert body["custom_fields"] == {"plan": "pro", "seats": 3}
    assert body["source"] == "manual"
    assert body["created_at"] == body["updated_at"]
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/v1/contacts/{body['id']}"


async def test_create_publishes_contact_created_keyed_by_contact_id(harness: Harness) -> None:
    await define_fields(harness, **FULL_FIELDS)
    contact = await harness.create(**FULL)
    [event] = await harness.outbox(ContactCreated.event_type)
    assert (event.topic, event.key) == (CONTACT_EVENTS.name, contact["id"])
    assert event.envelope["tenant"] == "acme"
    assert event.envelope["subject"] == contact["id"]
    assert event.envelope["actor"].startswith("key:")
    assert event.data["source"] == "manual"
    assert event.data["profile"]["email"] == "ada@example.com"


async def test_get_returns_the_contact_with_etag(harness: Harness) -> None:
    contact = await harness.create(source="form")
    response = await harness.client.get(f"/v1/contacts/{contact['id']}", headers=auth(VIEWER_KEY))
    assert response.status_code == 200
    assert response.json() == contact
    assert response.headers["etag"] == '"1"'


async def test_patch_changes_only_the_field_sent_and_publishes_its_change(
    harness: Harness,
) -> None:
    await define_fields(harness, **FULL_FIELDS)
    contact = await harness.create(**FULL)
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}", json={"company": "Babbage & Co"}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["company"] == "Babbage & Co"
    assert body["version"] == 2 and response.headers["etag"] == '"2"'
    assert {k: v for k, v in body.items() if k not in ("company", "version", "updated_at")} == {
        k: v for k, v in contact.items() if k not in ("company", "version", "updated_at")
    }
    [event] = await harness.outbox(ContactUpdated.event_type)
    assert event.key == contact["id"]
    assert event.data["version"] == 2
    assert event.data["changes"] == {
        "company": {"before": "Analytical Engines", "after": "Babbage & Co"}
    }


async def test_patch_with_null_clears_an_optional_field(harness: Harness) -> None:
    await define_fields(harness, **FULL_FIELDS)
    contact = await harness.create(**FULL)
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}", json={"phone": None}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 200
    assert response.json()["phone"] is None and response.json()["phone_raw"] is None


async def test_patch_cannot_clear_the_name(harness: Harness) -> None:
    contact = await harness.create()
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}", json={"name": None}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "name"]


async def test_patch_merges_custom_fields_key_by_key(harness: Harness) -> None:
    await define_fields(harness, **FULL_FIELDS)
    contact = await harness.create(custom_fields={"plan": "pro", "seats": 3})
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"custom_fields": {"seats": 5}},
        headers=auth(EDITOR_KEY),
    )
    assert response.json()["custom_fields"] == {"plan": "pro", "seats": 5}


async def test_patch_that_changes_nothing_keeps_the_version_and_publishes_nothing(
    harness: Harness,
) -> None:
    await define_fields(harness, **FULL_FIELDS)
    contact = await harness.create(**FULL)
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"company": "Analytical Engines", "phone": "+1 415 555 2671"},
        headers=auth(EDITOR_KEY),
    )
    assert response.status_code == 200
    assert response.json()["version"] == 1
    assert await harness.outbox(ContactUpdated.event_type) == []


async def test_patch_with_current_if_match_applies(harness: Harness) -> None:
    contact = await harness.create()
    for n, if_match in enumerate(["1", '"2"', 'W/"3"'], start=1):
        response = await harness.client.patch(
            f"/v1/contacts/{contact['id']}",
            json={"company": f"Co {n}"},
            headers={**auth(EDITOR_KEY), "If-Match": if_match},
        )
        assert response.status_code == 200, response.text
    assert response.json()["version"] == 4


async def test_patch_with_stale_if_match_is_412_with_the_current_contact(
    harness: Harness,
) -> None:
    contact = await harness.create()
    url = f"/v1/contacts/{contact['id']}"
    await harness.client.patch(url, json={"company": "First"}, headers=auth(EDITOR_KEY))
    response = await harness.client.patch(
        url, json={"company": "Second"}, headers={**auth(EDITOR_KEY), "If-Match": '"1"'}
    )
    assert response.status_code == 412
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["current"]["version"] == 2
    assert response.json()["current"]["company"] == "First"


async def test_delete_soft_deletes_then_get_is_404(harness: Harness) -> None:
    contact = await harness.create()
    url = f"/v1/contacts/{contact['id']}"
    response = await harness.client.delete(url, headers=auth(EDITOR_KEY))
    assert response.status_code == 204
    assert (await harness.client.get(url, headers=auth(EDITOR_KEY))).status_code == 404
    [event] = await harness.outbox(ContactDeleted.event_type)
    assert (event.key, event.data["version"]) == (contact["id"], 2)


async def test_restore_brings_a_deleted_contact_back(harness: Harness) -> None:
    contact = await harness.create()
    url = f"/v1/contacts/{contact['id']}"
    await harness.client.delete(url, headers=auth(EDITOR_KEY))
    response = await harness.client.post(f"{url}/restore", headers=auth(EDITOR_KEY))
    assert response.status_code == 200
    assert response.json()["version"] == 3 and response.json()["deleted_at"] is None
    assert (await harness.client.get(url, headers=auth(EDITOR_KEY))).status_code == 200
    [event] = await harness.outbox(ContactRestored.event_type)
    assert (event.key, event.data["version"]) == (contact["id"], 3)


async def test_restore_of_a_live_contact_is_409(harness: Harness) -> None:
    contact = await harness.create()
    response = await harness.client.post(
        f"/v1/contacts/{contact['id']}/restore", headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 409


async def test_restore_of_an_unknown_contact_is_404(harness: Harness) -> None:
    response = await harness.client.post(
        "/v1/contacts/0190a000-0000-7000-8000-000000000000/restore", headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 404


async def test_restore_is_409_naming_the_live_contact_that_took_the_email(
    harness: Harness,
) -> None:
    first = await harness.create(email="ada@example.com")
    await harness.client.delete(f"/v1/contacts/{first['id']}", headers=auth(EDITOR_KEY))
    second = await harness.create(email="ada@example.com")
    response = await harness.client.post(
        f"/v1/contacts/{first['id']}/restore", headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 409
    assert response.json()["existing_id"] == second["id"]
    assert second["id"] in response.json()["detail"]


async def test_duplicate_email_is_409_with_the_existing_id(harness: Harness) -> None:
    first = await harness.create(email="ada@example.com")
    response = await harness.client.post(
        "/v1/contacts", json={"name": "Other", "email": " ADA@example.com"}, headers=auth()
    )
    assert response.status_code == 409
    assert response.json()["existing_id"] == first["id"]


async def test_allow_duplicate_creates_a_second_contact_with_the_email(harness: Harness) -> None:
    first = await harness.create(email="ada@example.com")
    response = await harness.client.post(
        "/v1/contacts?allow_duplicate=true",
        json={"name": "Other", "email": "ada@example.com"},
        headers=auth(),
    )
    assert response.status_code == 201
    assert response.json()["id"] != first["id"]


async def test_deleted_contact_does_not_block_its_email(harness: Harness) -> None:
    first = await harness.create(email="ada@example.com")
    await harness.client.delete(f"/v1/contacts/{first['id']}", headers=auth(EDITOR_KEY))
    await harness.create(email="ada@example.com")
