"""Row mapping: cells to an ImportRow, or a failure the importer reports itself."""

from __future__ import annotations

from crm_importer.domain.mapping import plan_columns
from crm_importer.domain.rows import (
    MappedRow,
    RowFailure,
    RowMapper,
    split_tags,
)
from crm_shared.identity import PersonIdentifiers, identifier_hash, person_hashes, to_e164

HEADER = ["name", "email", "Tags", "Plan", "Notes"]
MAPPER = RowMapper(plan_columns(HEADER, {"Plan": "custom.plan", "Notes": None}), max_row_bytes=1024)


def test_cells_become_a_row_with_stripped_values_and_empty_cells_left_out() -> None:
    outcome = MAPPER.map(7, [" Ada ", "", "vip; math", " pro ", "secret"])

    assert isinstance(outcome, MappedRow)
    assert outcome.row.model_dump(exclude_defaults=True) == {
        "row_number": 7,
        "name": "Ada",
        "tags": ["vip", "math"],
        "custom_fields": {"plan": "pro"},
    }
    assert outcome.size > len("Adavip; mathprosecret")


def test_tags_split_on_commas_and_semicolons_dropping_blanks() -> None:
    assert split_tags(" a, b;;c ;") == ["a", "b", "c"]


def test_a_row_with_too_many_cells_fails_naming_both_counts() -> None:
    outcome = MAPPER.map(3, ["Ada", "a@x.io", "", "", "", "extra"])

    assert isinstance(outcome, RowFailure)
    assert outcome.reason == "row 3 has 6 cells but the header has 5"


def test_a_row_with_too_few_cells_fails_and_keeps_the_mapped_cells_it_has() -> None:
    outcome = MAPPER.map(4, ["Ada", "a@x.io"])

    assert isinstance(outcome, RowFailure)
    assert outcome.reason == "row 4 has 2 cells but the header has 5"
    assert outcome.values == {"name": "Ada", "email": "a@x.io"}


def test_a_row_with_bytes_that_are_not_utf8_fails_and_shows_them_as_latin1() -> None:
    cells = [b"Jos\xe9".decode("utf-8", "surrogateescape"), "j@x.io", "", "", "private"]

    outcome = MAPPER.map(2, cells)

    assert isinstance(outcome, RowFailure)
    assert outcome.reason == "row 2 is not valid UTF-8 (wrong file encoding?)"
    assert outcome.values == {"name": "José", "email": "j@x.io"}  # unmapped Notes left out


def test_a_blank_record_maps_to_nothing() -> None:
    assert MAPPER.map(1, []) is None
    assert MAPPER.map(1, ["", " ", "", "", ""]) is None


def test_a_row_over_the_size_limit_fails() -> None:
    outcome = MAPPER.map(9, ["A" * 2000, "", "", "", ""])

    assert isinstance(outcome, RowFailure)
    assert outcome.reason.startswith("row 9 is too large")


def test_failed_row_hashes_cover_emails_and_phones_in_any_column() -> None:
    key = b"secret"

    cells = {"name": "ADA@example.com ", "email": "+44 (20) 7946-0000", "tags": "vip"}
    hashes = person_hashes(key, PersonIdentifiers.of_row(cells), region="US")

    assert identifier_hash(key, "email", "ada@example.com") in hashes
    assert identifier_hash(key, "phone", "+442079460000") in hashes
    assert len(hashes) == 2


def test_a_national_phone_is_also_hashed_in_e164_form_with_the_default_region() -> None:
    key = b"secret"

    cells = {"phone": "(415) 555-0123"}
    hashes = person_hashes(key, PersonIdentifiers.of_row(cells), region="US")

    assert identifier_hash(key, "phone", "+14155550123") in hashes
    assert identifier_hash(key, "phone", "4155550123") in hashes  # the typed digits, kept
    assert len(hashes) == 2


def test_the_default_region_decides_the_country_of_a_national_phone() -> None:
    assert to_e164("020 7946 0000", "GB") == "+442079460000"
    assert to_e164("(415) 555-0123", "US") == "+14155550123"


def test_an_invalid_phone_gets_no_e164_hash() -> None:
    key = b"secret"

    hashes = person_hashes(key, PersonIdentifiers.of_row({"code": "000000"}), region="US")

    assert to_e164("000000", "US") is None
    assert hashes == [identifier_hash(key, "phone", "000000")]
