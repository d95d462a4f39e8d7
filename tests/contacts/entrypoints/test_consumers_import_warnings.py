"""Import rows with invalid cells: imported without them, each problem a warning on the row."""

from __future__ import annotations

from typing import Any

from crm_shared.events import ImportBatchProcessed
from tests.conftest import VIEWER_KEY, auth
from tests.contacts.custom_field_support import define_field
from tests.contacts.helpers import Harness, envelope, import_batch


async def _import(harness: Harness, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    await harness.handle(envelope(import_batch(rows, policy="update")))
    [event] = await harness.outbox(ImportBatchProcessed.event_type)
    return list(event.data["results"])


async def _contact(harness: Harness, contact_id: str) -> dict[str, Any]:
    response = await harness.client.get(f"/v1/contacts/{contact_id}", headers=auth(VIEWER_KEY))
    assert response.status_code == 200
    return dict(response.json())


async def test_the_seed_sample_imports_both_rows_one_with_a_phone_warning(
    harness: Harness,
) -> None:
    # The seed documentation's sample CSV: +0987654321 has no country code 0, so it is no phone.
    results = await _import(
        harness,
        [
            {
                "name": "John Doe",
                "email": "john@example.com",
                "phone": "+1234567890",
                "company": "Acme Inc",
            },
            {
                "name": "Jane Smith",
                "email": "jane@example.com",
                "phone": "+0987654321",
                "company": "Tech Corp",
            },
        ],
    )
    assert [r["status"] for r in results] == ["created", "created"]
    assert results[1]["warnings"] == ["phone is not a valid phone number (left out)"]
    jane = await _contact(harness, results[1]["contact_id"])
    assert (jane["name"], jane["email"], jane["company"], jane["phone"]) == (
        "Jane Smith",
        "jane@example.com",
        "Tech Corp",
        None,
    )


async def test_a_row_with_only_a_name_left_is_imported_and_one_with_nothing_fails(
    harness: Harness,
) -> None:
    results = await _import(
        harness,
        [
            {"name": "Ada", "email": "ada@", "timezone": "Mars/Base"},
            {"email": "nobody@", "company": "Ghost Ltd"},
        ],
    )
    assert [r["status"] for r in results] == ["created", "failed"]
    assert sorted(results[0]["warnings"]) == [
        "email is not a valid address (left out)",
        "timezone is not a valid IANA timezone name (for example Europe/Paris) (left out)",
    ]
    assert results[1]["error"] == "row 2: email is not a valid address"
    assert results[1]["warnings"] == []


async def test_only_the_bad_additional_email_is_left_out(harness: Harness) -> None:
    results = await _import(
        harness,
        [{"name": "Lin", "emails": ["lin@work.example", "lin@", "lin@home.example", "x@"]}],
    )
    [result] = results
    assert result["status"] == "created"
    assert len(result["warnings"]) == 2
    lin = await _contact(harness, result["contact_id"])
    assert lin["emails"] == ["lin@work.example", "lin@home.example"]


async def test_an_accented_address_is_imported(harness: Harness) -> None:
    [result] = await _import(harness, [{"name": "José", "email": "José.García@Example.com"}])
    assert result["status"] == "created" and result["warnings"] == []
    assert (await _contact(harness, result["contact_id"]))["email"] == "josé.garcía@example.com"


async def test_a_custom_value_its_field_refuses_is_left_out_with_a_warning(
    harness: Harness,
) -> None:
    await define_field(harness, "seats", "number")
    [result] = await _import(
        harness, [{"name": "Bo", "custom_fields": {"seats": "many"}, "company": "Bo Co"}]
    )
    assert result["status"] == "created"
    assert result["warnings"] == ["custom_fields.seats: must be a number (left out)"]
    bo = await _contact(harness, result["contact_id"])
    assert bo["company"] == "Bo Co" and "seats" not in bo["custom_fields"]
