"""Row writers for export files: CSV (optionally with a UTF-8 BOM) and streamed .xlsx.

Both take rows of text already neutralized (`domain.cells`) and keep memory flat whatever the
number of rows: the CSV goes straight to its file, the workbook through xlsxwriter's
`constant_memory` mode, which writes each row out once the next one starts.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import xlsxwriter

# An .xlsx sheet holds at most this many rows (the header included); more go on another sheet.
XLSX_MAX_ROWS = 1_048_576
# Excel refuses longer text in one cell; xlsxwriter would cut it silently.
XLSX_MAX_CELL_CHARS = 32_767
SHEET_NAME = "contacts"
_BUFFER = 1 << 20


class Sheet(Protocol):
    """Where an export's rows go."""

    def write(self, row: list[str]) -> None:
        """Append one row."""

    def write_columns(self, columns: Sequence[list[str]]) -> None:
        """Append rows given column by column (one list per field, all of one length)."""

    def flush(self) -> None:
        """Hand what was written so far to the operating system, where the format allows."""

    def close(self) -> None:
        """Finish the file."""


# What makes the csv module quote a cell (its default dialect, minimal quoting).
_QUOTED = (",", '"', "\r", "\n")


def _csv_column(cells: list[str]) -> list[str]:
    joined = "\x00".join(cells)
    if not any(special in joined for special in _QUOTED):
        return cells
    return [
        '"' + c.replace('"', '""') + '"' if any(special in c for special in _QUOTED) else c
        for c in cells
    ]


def csv_text(columns: Sequence[list[str]]) -> str:
    """The CSV lines of rows given column by column, byte for byte as `csv.writer` writes them
    (minimal quoting, quotes doubled, CRLF), without its per-cell work: a column with no cell
    to quote (most of them) is joined as it is, and the rows by two C-level joins."""
    if not columns or not columns[0]:
        return ""
    if len(columns) == 1:
        # A row of one empty cell is written `""`, or it would read back as no row at all.
        return "".join((c or '""') + "\r\n" for c in _csv_column(columns[0]))
    return "\r\n".join(map(",".join, zip(*map(_csv_column, columns), strict=True))) + "\r\n"


class CsvSheet:
    """A CSV file, header first; `bom` starts it with the UTF-8 byte order mark Excel needs."""

    def __init__(self, path: Path, header: list[str], *, bom: bool) -> None:
        # A large buffer: a million rows reach the disk in a few hundred writes, not thousands.
        self._file = path.open(
            "w", encoding="utf-8-sig" if bom else "utf-8", newline="", buffering=_BUFFER
        )
        self._writer = csv.writer(self._file)
        self._writer.writerow(header)

    def write(self, row: list[str]) -> None:
        """Append one row."""
        self._writer.writerow(row)

    def write_columns(self, columns: Sequence[list[str]]) -> None:
        """Append rows given column by column, as one write to the file (`csv_text`)."""
        self._file.write(csv_text(columns))

    def flush(self) -> None:
        """Flush the file's buffer."""
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        if not self._file.closed:
            self._file.close()


class XlsxSheet:
    """An .xlsx workbook written row by row; every cell is a text cell, never a formula."""

    def __init__(self, path: Path, header: list[str]) -> None:
        self._book = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                # Text stays text: no formula, number or link is ever inferred from a value.
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self._header = header
        self._sheets = 0
        self._new_sheet()
        self._closed = False

    def _new_sheet(self) -> None:
        self._sheets += 1
        name = SHEET_NAME if self._sheets == 1 else f"{SHEET_NAME} ({self._sheets})"
        self._sheet = self._book.add_worksheet(name)
        self._row = 0
        self._put(self._header)

    def _put(self, row: list[str]) -> None:
        for column, text in enumerate(row):
            if text:
                self._sheet.write_string(self._row, column, text[:XLSX_MAX_CELL_CHARS])
        self._row += 1

    def write(self, row: list[str]) -> None:
        """Append one row (on a new sheet, header repeated, when this one is full)."""
        if self._row >= XLSX_MAX_ROWS:
            self._new_sheet()
        self._put(row)

    def write_columns(self, columns: Sequence[list[str]]) -> None:
        """Append rows given column by column."""
        for row in zip(*columns, strict=True):
            self.write(list(row))

    def flush(self) -> None:
        """Nothing to do: constant_memory mode writes each finished row out already."""

    def close(self) -> None:
        """Write the workbook's remaining parts and zip it."""
        if not self._closed:
            self._closed = True
            self._book.close()
