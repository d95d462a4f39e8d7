"""Streaming CSV records: header, numbering, and records the csv module cannot parse."""

from __future__ import annotations

import csv
import io

from crm_importer.domain.records import CsvRecords, UnparsableRecord, is_blank


def test_row_numbers_start_after_the_header_and_count_blank_lines() -> None:
    records = CsvRecords(io.StringIO("\n\nname\nAda\n\nBob\n"))

    assert records.header() == ["name"]
    assert list(records) == [(1, ["Ada"]), (2, []), (3, ["Bob"])]


def test_a_quoted_cell_may_span_lines_and_is_one_record() -> None:
    records = CsvRecords(io.StringIO('name,note\nAda,"two\nlines"\nBob,x\n'))
    records.header()

    assert list(records) == [(1, ["Ada", "two\nlines"]), (2, ["Bob", "x"])]


def test_an_unparsable_record_is_reported_and_reading_goes_on() -> None:
    previous = csv.field_size_limit(10)
    try:
        records = CsvRecords(io.StringIO("name\nAda\n" + "x" * 50 + "\nBob\n"))
        records.header()
        found = list(records)
    finally:
        csv.field_size_limit(previous)

    assert found[0] == (1, ["Ada"])
    assert isinstance(found[1][1], UnparsableRecord)
    assert found[1][1].reason.startswith("row 2 could not be parsed as CSV")
    assert found[2] == (3, ["Bob"])


def test_an_empty_stream_has_no_header() -> None:
    assert CsvRecords(io.StringIO("")).header() is None


def test_the_first_data_row_skips_blank_records() -> None:
    records = CsvRecords(io.StringIO("name\n\n,\nAda\n"))
    records.header()

    assert records.first_data_row() == 3


def test_a_record_of_empty_cells_is_blank() -> None:
    assert is_blank([",", ""]) is False
    assert is_blank(["", " ", ""]) is True
