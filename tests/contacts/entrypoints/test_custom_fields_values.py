"""Custom values on contacts over HTTP: typed by their definitions on create and PATCH."""

from __future__ import annotations

from typing import Any

import pytest

from crm_shared.events import ContactCreated
from tests.conftest import ADMIN_KEY, EDITOR_KEY, auth
from tests.contacts.custom_field_support import define_field
from tests.contacts.helpers import Harness


async def _all_types(harness: Harness) -> None:
    await define_field(harness, "note", "text")
    await define_field(harness, "seats", "number")
    await define_field(harness, "renewal", "date")
    await define_field(harness, "plan", "dropdown", options=["Free", "Pro"])
    await define_field(harness, "channels", "multi_select", options=["Email", "SMS", "Phone"])
    await define_field(harness, "vip", "boolean")
    await define_field(harness, "site", "url")
    await define_field(harness, "billing", "email")


async def _create(harness: Harness, values: dict[str, Any]) -> Any:
    return await harness.client.post(
        "/v1/contacts",
        json={"name": "Ada", "custom_fields": values},
        headers=auth(EDITOR_KEY),
    )


async def test_values_of_every_type_are_stored_normalized(harness: Harness) -> None:
    await _all_types(harness)
    response = await _create(
        harness,
        {
            "note": "likes tea",
            "seats": 12,
            "renewal": "2025-03-01",
            "plan": "pro",
            "channels": ["sms", "Email", "SMS"],
            "vip": True,
            "site": "https://example.com/ada",
            "billing": " Billing@Example.COM ",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["custom_fields"] == {
        "note": "likes tea",
        "seats": 12,
        "renewal": "2025-03-01",
        "plan": "Pro",
        "channels": ["SMS", "Email"],
        "vip": True,
        "site": "https://example.com/ada",
        "billing": "billing@example.com",
    }


async def test_the_created_event_carries_the_typed_values(harness: Harness) -> None:
    await define_field(harness, "plan", "dropdown", options=["Pro"])
    response = await _create(harness, {"plan": "PRO"})
    [event] = await harness.outbox(ContactCreated.event_type)
    assert event.data["profile"]["custom_fields"] == {"plan": "Pro"}
    assert response.json()["custom_fields"] == {"plan": "Pro"}


async def test_an_unknown_custom_field_is_422_naming_it(harness: Harness) -> None:
    response = await _create(harness, {"shoe_size": 42})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("custom_fields.shoe_size: is not a defined")
    assert response.json()["errors"][0]["loc"] == ["body", "custom_fields.shoe_size"]


@pytest.mark.parametrize(
    ("key", "value", "rule"),
    [
        ("note", 5, "must be text"),
        ("note", "x" * 2001, "at most 2000 characters"),
        ("seats", "12", "must be a number"),
        ("seats", True, "must be a number"),
        ("renewal", "01/03/2025", "YYYY-MM-DD"),
        ("renewal", "2025-02-30", "real calendar date"),
        ("plan", "Enterprise", "option 'Enterprise' does not exist for 'plan'"),
        ("plan", ["Pro"], "options of 'plan' are text"),
        ("channels", "SMS", "must be a list of options"),
        ("channels", ["Fax"], "option 'Fax' does not exist for 'channels'"),
        ("vip", "yes", "must be true or false"),
        ("site", "ftp://example.com", "http(s) URL with a host"),
        ("site", "https://", "http(s) URL with a host"),
        ("billing", "not-an-address", "valid email address"),
    ],
)
async def test_a_wrong_value_is_422_naming_the_field_and_the_rule(
    harness: Harness, key: str, value: Any, rule: str
) -> None:
    await _all_types(harness)
    response = await _create(harness, {key: value})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"custom_fields.{key}: ") and rule in detail


async def test_a_wrong_value_never_quotes_free_text(harness: Harness) -> None:
    await _all_types(harness)
    response = await _create(harness, {"billing": "secret-person-name"})
    assert "secret-person-name" not in response.text


async def test_a_required_field_missing_on_create_is_422(harness: Harness) -> None:
    await define_field(harness, "plan", "dropdown", options=["Pro"], required=True)
    response = await harness.client.post(
        "/v1/contacts", json={"name": "Ada"}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "custom_fields.plan: is required"


async def test_a_required_field_sent_empty_on_create_is_422(harness: Harness) -> None:
    await define_field(harness, "plan", "text", required=True)
    response = await _create(harness, {"plan": "  "})
    assert response.status_code == 422
    assert response.json()["detail"] == "custom_fields.plan: is required"


async def test_patch_types_the_value_it_sends(harness: Harness) -> None:
    await define_field(harness, "seats", "number")
    contact = await harness.create()
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"custom_fields": {"seats": "many"}},
        headers=auth(EDITOR_KEY),
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "custom_fields.seats: must be a number"


async def test_patch_cannot_clear_a_required_field(harness: Harness) -> None:
    await define_field(harness, "plan", "text", required=True)
    contact = await harness.create(custom_fields={"plan": "pro"})
    for body in ({"custom_fields": {"plan": None}}, {"custom_fields": None}):
        response = await harness.client.patch(
            f"/v1/contacts/{contact['id']}", json=body, headers=auth(EDITOR_KEY)
        )
        assert response.status_code == 422, body
        assert response.json()["detail"] == "custom_fields.plan: is required and cannot be cleared"


async def test_patch_with_null_clears_an_optional_value_and_removes_its_key(
    harness: Harness,
) -> None:
    await define_field(harness, "plan", "text")
    await define_field(harness, "seats", "number")
    contact = await harness.create(custom_fields={"plan": "pro", "seats": 3})
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"custom_fields": {"seats": None}},
        headers=auth(EDITOR_KEY),
    )
    assert response.status_code == 200
    assert response.json()["custom_fields"] == {"plan": "pro"}


async def test_making_a_field_required_keeps_existing_contacts_valid(harness: Harness) -> None:
    await define_field(harness, "plan", "text")
    await define_field(harness, "seats", "number")
    contact = await harness.create(custom_fields={"seats": 2})
    response = await harness.client.patch(
        "/v1/custom-fields/plan", json={"required": True}, headers=auth(ADMIN_KEY)
    )
    assert response.status_code == 200 and response.json()["required"] is True
    # The contact without a plan can still be edited without supplying one.
    patched = await harness.client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"custom_fields": {"seats": 3}},
        headers=auth(EDITOR_KEY),
    )
    assert patched.status_code == 200
    assert patched.json()["custom_fields"] == {"seats": 3}
    # A new contact must have one.
    created = await harness.client.post(
        "/v1/contacts", json={"name": "Grace"}, headers=auth(EDITOR_KEY)
    )
    assert created.status_code == 422
