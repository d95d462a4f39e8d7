"""Cells safe to open in a spreadsheet: OWASP's formula starts are quoted, plain numbers kept."""

from __future__ import annotations

import pytest

from crm_importer.domain.cells import neutralize, neutralize_column


@pytest.mark.parametrize(
    "text",
    [
        "=1+2",
        '=HYPERLINK("http://evil","x")',
        "+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(A1:A9)",
        "\t=1+2",
        "\r=1+2",
        "+33 6 12 34 56 78",
        "-",
        "+",
        "+33612345678;=1+2",
    ],
)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(text: str) -> None:
    assert neutralize(text) == "'" + text


@pytest.mark.parametrize(
    "text", ["-5", "+1.5", "-0,25", "+33612345678", "-.5", "+33612345678;+14155550100"]
)
def test_a_signed_plain_number_stays_as_it_is(text: str) -> None:
    assert neutralize(text) == text


@pytest.mark.parametrize("text", ["", "Ada", "a=b", "1+1", "ada@example.com", "'=quoted"])
def test_other_cells_are_unchanged(text: str) -> None:
    assert neutralize(text) == text


def test_digits_of_other_scripts_are_not_a_plain_number() -> None:
    assert neutralize("-\u0663") == "'-\u0663"  # ARABIC-INDIC DIGIT THREE


def test_a_column_is_neutralized_cell_by_cell_as_neutralize_does() -> None:
    cells = ["plain", "=1+2", "+33612345678", "a\x00=b", "-5", "@SUM(A1)", "", "\tx", "ok"]

    assert neutralize_column(cells) == [neutralize(c) for c in cells]
    # A separator inside a cell that looks like a formula start only costs the slow path.
    assert neutralize_column(["a\x00=b"]) == ["a\x00=b"]


def test_a_column_without_formula_starts_is_returned_as_it_is() -> None:
    cells = ["Ada", "Acme, Inc.", "x=1", "a+b"]

    assert neutralize_column(cells) is cells
