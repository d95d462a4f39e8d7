"""Which rows the next `match_on` identifier is looked up for: those the last found no one for."""

from __future__ import annotations

from typing import Any

from crm_contacts.domain.importing import (
    PreparedRow,
    existing_by_identifiers,
    match_keys,
    not_yet_found,
)
from crm_shared.events.imports import MatchIdentifier

HOLDERS: list[dict[str, Any]] = [
    {
        "id": "c1",
        "email": "ada@example.com",
        "emails": ["countess@example.com"],
        "phone": "+14155550100",
        "phones": ["+14155550101"],
        "external_ids": {"hubspot": "h-1"},
    },
    {"id": "c2", "email": None, "emails": [], "phone": None, "phones": [], "external_ids": {}},
]
ROWS = [
    PreparedRow(1, {"email": "ada@example.com"}),
    PreparedRow(2, {"email": "countess@example.com", "phone": "+14155550199"}),
    PreparedRow(3, {"email": "grace@example.com", "phone": "+14155550101"}),
    PreparedRow(4, {"phone": "+14155550100", "external_ids": {"hubspot": "h-1"}}),
    PreparedRow(5, {"external_ids": {"hubspot": "h-2"}}),
    PreparedRow(6, None, error="row 6: name is required"),
]


def _numbers(rows: list[PreparedRow]) -> list[int]:
    return [row.row_number for row in rows]


def test_each_identifier_leaves_the_valid_rows_no_holder_holds_it_for() -> None:
    assert _numbers(not_yet_found(ROWS, "email", HOLDERS)) == [3, 4, 5]
    assert _numbers(not_yet_found(ROWS, "phone", HOLDERS)) == [1, 2, 5]
    assert _numbers(not_yet_found(ROWS, "external_id", HOLDERS)) == [1, 2, 3, 5]


def test_a_row_left_is_one_the_batch_index_finds_no_one_for_by_that_identifier() -> None:
    for identifier in ("email", "phone", "external_id"):
        index = existing_by_identifiers(HOLDERS, (identifier,))
        left = not_yet_found(ROWS, identifier, HOLDERS)
        valid = [row for row in ROWS if row.profile]
        assert left == [row for row in valid if index.find(_only(row, identifier)) is None]


def _only(row: PreparedRow, identifier: MatchIdentifier) -> dict[str, Any]:
    profile = row.profile or {}
    field = "external_ids" if identifier == "external_id" else identifier
    return {field: profile[field]} if field in profile else {}


def test_the_batch_looks_up_each_valid_rows_keys_once_identifier_by_identifier() -> None:
    again = [*ROWS, PreparedRow(7, {"email": "ada@example.com", "phone": ""})]
    assert match_keys(again) == [
        "e:ada@example.com",
        "e:countess@example.com",
        "e:grace@example.com",
        "p:+14155550199",
        "p:+14155550101",
        "p:+14155550100",
    ]
    assert match_keys(again, ("external_id", "email")) == [
        "x:hubspot:h-1",
        "x:hubspot:h-2",
        "e:ada@example.com",
        "e:countess@example.com",
        "e:grace@example.com",
    ]
