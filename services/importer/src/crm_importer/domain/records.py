"""Streaming CSV records: the header, then each record numbered from 1 (the header excluded)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UnparsableRecord:
    """A record the csv module could not parse (for example a field over its size limit)."""

    reason: str


Record = tuple[int, list[str] | UnparsableRecord]


def is_blank(cells: list[str]) -> bool:
    """A blank line, or a record whose cells are all empty (spreadsheets leave such ",,," rows)."""
    return not "".join(cells).strip()


class CsvRecords:
    """Reads a CSV text stream record by record; memory stays flat whatever the file's size.

    Row numbers count every record after the header, blank lines included, so row N is line
    N + 1 of a file without multi-line cells (and spreadsheet row N + 1).
    """

    def __init__(self, lines: Iterable[str], *, delimiter: str = ",") -> None:
        self._reader = csv.reader(lines, delimiter=delimiter)
        self._row_number = 0
        self._header_read = False

    def header(self, *, skip: int = 0) -> list[str] | None:
        """The first non-blank record after `skip` records (title lines above the header; blank
        records count), or None. Records before the header are not numbered."""
        self._header_read = True
        for index, cells in enumerate(self._reader):
            if index >= skip and not is_blank(cells):
                return cells
        return None

    def __iter__(self) -> Iterator[Record]:
        if not self._header_read:
            raise RuntimeError("read the header first")
        while True:
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self._row_number += 1
                yield (
                    self._row_number,
                    UnparsableRecord(f"row {self._row_number} could not be parsed as CSV ({exc})"),
                )
                continue
            self._row_number += 1
            yield self._row_number, cells

    def first_data_row(self) -> int | None:
        """Consume records up to the first non-blank one and return its row number, if any."""
        for row_number, record in self:
            if not isinstance(record, list) or not is_blank(record):
                return row_number
        return None
