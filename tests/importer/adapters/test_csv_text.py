"""CSV lines written column by column: byte for byte what `csv.writer` writes."""

from __future__ import annotations

import csv
import io
import random

import pytest

from crm_importer.adapters.sheets import csv_text

TRICKY = [
    "",
    "plain",
    "Acme, Inc.",
    'Say "hi"',
    '"',
    "two\nlines",
    "carriage\rreturn",
    "crlf\r\n",
    " leading space",
    "tab\there",
    "Zoë 東京",
    "'=1+2",
    "semi;colon",
    "nul\x00inside",
    ",",
    "\x00",
]


def _csv_module(columns: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(zip(*columns, strict=True))
    return out.getvalue()


@pytest.mark.parametrize("width", [1, 2, 5])
def test_columns_are_written_as_the_csv_module_writes_their_rows(width: int) -> None:
    chooser = random.Random(width)  # fixed seeds: the same cells on every run
    for _ in range(200):
        height = chooser.randint(0, 6)
        columns = [[chooser.choice(TRICKY) for _ in range(height)] for _ in range(width)]
        assert csv_text(columns) == _csv_module(columns), columns


def test_a_lone_empty_cell_is_quoted_so_the_row_survives() -> None:
    assert csv_text([["", "x", ""]]) == '""\r\nx\r\n""\r\n'
    assert list(csv.reader(io.StringIO(csv_text([["", "x"]])))) == [[""], ["x"]]


def test_no_rows_write_nothing() -> None:
    assert csv_text([[], []]) == ""
