"""The first lines of an uploaded CSV: its header and a few sample rows for the mapping step."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

SAMPLE_ROWS = 3
# The header and samples are read from this much of the file's start.
HEAD_BYTES = 256 * 1024


class UnreadableCsv(ValueError):
    """The file has no header row the wizard can read; the message says what to fix."""


@dataclass(frozen=True)
class CsvHead:
    """A file's column names and its first data rows."""

    headers: list[str]
    samples: list[list[str]]


def read_head(start: bytes) -> CsvHead:
    """The header row and sample rows in the first bytes of a UTF-8 CSV.

    `start` is the whole file or at least its first `HEAD_BYTES` + 1 bytes.
    """
    head = start[:HEAD_BYTES]
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the head is not an encoding problem.
        cut_off = len(start) > HEAD_BYTES and exc.start >= HEAD_BYTES - 4
        if not cut_off:
            raise UnreadableCsv("the file is not UTF-8 text; save it as CSV (UTF-8)") from None
        text = head[: exc.start].decode("utf-8-sig")
    rows = csv.reader(io.StringIO(text))
    try:
        headers = next(rows, None)
    except csv.Error:
        headers = None
    if not headers or not any(h.strip() for h in headers):
        raise UnreadableCsv("the file has no header row; the first line must name the columns")
    samples: list[list[str]] = []
    try:
        for row in rows:
            if len(samples) >= SAMPLE_ROWS:
                break
            samples.append(row)
    except csv.Error:
        pass  # a sample row the csv module cannot read (a huge cell): fewer samples
    return CsvHead([h.strip() for h in headers], samples)
