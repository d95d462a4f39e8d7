"""Export rules: which fields are allowed, and how a contact becomes a CSV row."""

from __future__ import annotations

import pytest

from crm_importer.domain.exports import RowFormat, contact_row
from crm_importer.domain.fields import validate_export_fields
from crm_shared.problems import Unprocessable

CONTACT = {
    "id": "c1",
    "name": "Ada",
    "email": None,
    "tags": ["vip", "math"],
    "custom_fields": {"plan": "pro", "langs": ["fr", "en"], "seats": 3, "trial": False},
}


def test_tags_are_joined_with_semicolons() -> None:
    assert contact_row(CONTACT, ["tags"]) == ["vip;math"]


def test_custom_values_are_text_and_lists_or_numbers_are_json() -> None:
    fields = ["custom.plan", "custom.langs", "custom.seats", "custom.trial", "custom.missing"]

    assert contact_row(CONTACT, fields) == ["pro", '["fr","en"]', "3", "false", ""]


def test_missing_and_null_values_are_empty() -> None:
    assert contact_row(CONTACT, ["email", "phone", "id"]) == ["", "", "c1"]


def test_every_documented_field_is_allowed() -> None:
    fields = [
        "id",
        "name",
        "email",
        "phone",
        "company",
        "timezone",
        "tags",
        "source",
        "created_at",
        "updated_at",
        "custom.plan",
    ]

    assert validate_export_fields(fields) == fields


@pytest.mark.parametrize("field", ["birthday", "custom.", "custom.Plan", "Name", "tenant"])
def test_an_unknown_field_is_refused_by_name(field: str) -> None:
    with pytest.raises(Unprocessable, match=f"'{field}'"):
        validate_export_fields(["id", field])


def test_no_field_is_refused() -> None:
    with pytest.raises(Unprocessable, match="at least one"):
        validate_export_fields([])


def test_a_repeated_field_is_refused() -> None:
    with pytest.raises(Unprocessable, match="listed twice"):
        validate_export_fields(["name", "name"])


def test_every_list_field_is_joined_with_semicolons() -> None:
    contact = {
        "emails": ["a@example.com", "b@example.com"],
        "phones": ["+33612345678", "+14155550100"],
        "campaigns": ["cmp1", "cmp2"],
    }

    assert contact_row(contact, ["emails", "phones", "campaigns"]) == [
        "a@example.com;b@example.com",
        "+33612345678;+14155550100",
        "cmp1;cmp2",
    ]


def test_a_formula_cell_is_neutralized_and_a_phone_kept() -> None:
    contact = {"name": "=1+2", "company": "@SUM(A1)", "phone": "+33612345678"}

    assert contact_row(contact, ["name", "company", "phone"]) == [
        "'=1+2",
        "'@SUM(A1)",
        "+33612345678",
    ]


def test_rows_of_many_contacts_are_each_contacts_row() -> None:
    fields = ["id", "name", "tags", "custom.plan", "custom.seats", "phone"]
    contacts = [
        CONTACT,
        {"id": "c2", "name": "-2+3+cmd|' /C calc'!A0", "phone": "+33612345678"},
        # As a reduced stream sends it: a custom field the contact lacks is null.
        {"id": "c3", "name": "@x", "tags": [], "custom_fields": {"plan": None, "seats": 0}},
    ]

    rows = [list(row) for row in RowFormat(fields).rows(contacts)]

    assert rows == [contact_row(c, fields) for c in contacts]
    assert rows[1][1] == "'-2+3+cmd|' /C calc'!A0" and rows[1][5] == "+33612345678"
    assert rows[2] == ["c3", "'@x", "", "", "0", ""]


def test_a_list_holding_other_than_text_is_joined_item_by_item_in_a_chunk() -> None:
    contacts = [{"tags": ["a", "b"]}, {"tags": ["a", 1, None]}, {"tags": None}]

    assert [list(r) for r in RowFormat(["tags"]).rows(contacts)] == [["a;b"], ["a;1;None"], [""]]


def test_numbers_and_booleans_are_their_json_text() -> None:
    contact = {"custom_fields": {"n": 12, "f": 1.5, "big": 10**20, "yes": True, "no": False}}
    fields = ["custom.n", "custom.f", "custom.big", "custom.yes", "custom.no"]

    assert contact_row(contact, fields) == ["12", "1.5", "100000000000000000000", "true", "false"]
