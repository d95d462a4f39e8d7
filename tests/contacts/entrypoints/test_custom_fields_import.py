"""Import batches type custom values from CSV text; a row breaking a rule fails, others go on."""

from __future__ import annotations

from typing import Any

from crm_shared.events import ImportBatchProcessed
from tests.conftest import ADMIN_KEY, VIEWER_KEY, auth
from tests.contacts.custom_field_support import define_field
from tests.contacts.helpers import Harness, envelope, import_batch


async def _import(
    harness: Harness, rows: list[dict[str, Any]], policy: str = "skip"
) -> list[dict[str, Any]]:
    await harness.handle(envelope(import_batch(rows, policy=policy)))
    [event] = await harness.outbox(ImportBatchProcessed.event_type)
    return list(event.data["results"])


async def _contact(harness: Harness, contact_id: str) -> dict[str, Any]:
    response = await harness.client.get(f"/v1/contacts/{contact_id}", headers=auth(VIEWER_KEY))
    return dict(response.json())


async def _define_all(harness: Harness) -> None:
    await define_field(harness, "seats", "number")
    await define_field(harness, "renewal", "date")
    await define_field(harness, "plan", "dropdown", options=["Free", "Pro", "Legacy"])
    await define_field(harness, "channels", "multi_select", options=["Email", "SMS"])
    await define_field(harness, "vip", "boolean")


async def test_text_cells_are_parsed_into_typed_values(harness: Harness) -> None:
    await _define_all(harness)
    cells = {
        "seats": " 12 ",
        "renewal": "2025-03-01",
        "plan": "pro",
        "channels": "sms; Email;SMS",
        "vip": "Yes",
    }
    [result] = await _import(harness, [{"name": "Ada", "custom_fields": cells}])
    assert result["status"] == "created", result
    contact = await _contact(harness, result["contact_id"])
    assert contact["custom_fields"] == {
        "seats": 12,
        "renewal": "2025-03-01",
        "plan": "Pro",
        "channels": ["SMS", "Email"],
        "vip": True,
    }


async def test_values_breaking_custom_field_rules_are_left_out_with_warnings(
    harness: Harness,
) -> None:
    await _define_all(harness)
    await harness.client.patch(
        "/v1/custom-fields/plan", json={"retired_options": ["Legacy"]}, headers=auth(ADMIN_KEY)
    )
    rows = [
        {"name": "Ok", "custom_fields": {"seats": "3"}},
        {"name": "Unknown", "custom_fields": {"shoe_size": "42"}},
        {"name": "Not a number", "custom_fields": {"seats": "NaN"}},
        {"name": "No option", "custom_fields": {"plan": "Gold"}},
        {"name": "Retired", "custom_fields": {"plan": "legacy"}},
        {"name": "Bad bool", "custom_fields": {"vip": "maybe", "seats": "4"}},
        {"name": "Also ok", "custom_fields": {"renewal": "2024-12-31"}},
    ]
    results = await _import(harness, rows)
    # Each row still names someone: it is imported without the value its field refuses.
    assert [r["status"] for r in results] == ["created"] * 7
    warnings = [r["warnings"] for r in results]
    assert warnings[0] == warnings[6] == []
    assert warnings[1] == [
        "custom_fields.shoe_size: is not a defined custom field "
        "(define it under /v1/custom-fields) (left out)"
    ]
    assert warnings[2] == ["custom_fields.seats: must be a finite number (left out)"]
    assert warnings[3][0].startswith("custom_fields.plan: is not an option of 'plan'")
    assert "Gold" not in warnings[3][0]
    assert warnings[4] == ["custom_fields.plan: is a retired option of 'plan' (left out)"]
    assert warnings[5] == ["custom_fields.vip: must be true/false, yes/no or 1/0 (left out)"]
    bad_bool = await _contact(harness, results[5]["contact_id"])
    assert bad_bool["custom_fields"] == {"seats": 4}


async def test_an_import_created_row_without_a_required_field_fails(harness: Harness) -> None:
    await define_field(harness, "plan", "text", required=True)
    results = await _import(
        harness,
        [{"name": "No plan"}, {"name": "With plan", "custom_fields": {"plan": "pro"}}],
    )
    assert [r["status"] for r in results] == ["failed", "created"]
    assert results[0]["error"] == "row 1: custom_fields.plan: is required"


async def test_an_update_row_need_not_repeat_a_required_field(harness: Harness) -> None:
    await define_field(harness, "plan", "text", required=True)
    await define_field(harness, "seats", "number")
    existing = await harness.create(email="ada@example.com", custom_fields={"plan": "pro"})
    [result] = await _import(
        harness,
        [{"email": "ada@example.com", "custom_fields": {"seats": "4"}}],
        policy="update",
    )
    assert result["status"] == "updated"
    contact = await _contact(harness, existing["id"])
    assert contact["custom_fields"] == {"plan": "pro", "seats": 4}


async def test_an_update_row_may_repeat_the_retired_option_the_contact_holds(
    harness: Harness,
) -> None:
    await define_field(harness, "plan", "dropdown", options=["Legacy", "Pro"])
    existing = await harness.create(email="ada@example.com", custom_fields={"plan": "Legacy"})
    await harness.client.patch(
        "/v1/custom-fields/plan", json={"retired_options": ["Legacy"]}, headers=auth(ADMIN_KEY)
    )
    [result] = await _import(
        harness,
        [{"email": "ada@example.com", "company": "New Co", "custom_fields": {"plan": "Legacy"}}],
        policy="update",
    )
    assert result["status"] == "updated"
    assert (await _contact(harness, existing["id"]))["custom_fields"] == {"plan": "Legacy"}


async def test_a_multi_select_exported_as_a_json_list_imports_again(harness: Harness) -> None:
    await define_field(harness, "channels", "multi_select", options=["Email", "SMS"])
    [result] = await _import(
        harness, [{"name": "Ada", "custom_fields": {"channels": '["Email","SMS"]'}}]
    )
    assert result["status"] == "created", result
    contact = await _contact(harness, result["contact_id"])
    assert contact["custom_fields"] == {"channels": ["Email", "SMS"]}
