"""How a delimited text file is laid out: its delimiter and which record is its header row.

Both are guessed from the head of the file (a few dozen records), so a preview of a 100 MB file
reads a few kilobytes; either can be chosen instead.
"""

from __future__ import annotations

import csv
import io
from collections import Counter

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# Records looked at to guess the delimiter and the header row.
SAMPLE_RECORDS = 50
# Title lines above a header are short: at most this many records are skipped looking for it.
HEADER_SEARCH = 20


def parse_sample(text: str, delimiter: str, *, limit: int = SAMPLE_RECORDS) -> list[list[str]]:
    """The first complete records of `text` (a partial last line is dropped)."""
    cut = text.rfind("\n")
    complete = text[: cut + 1] if cut >= 0 else text
    records: list[list[str]] = []
    try:
        for cells in csv.reader(io.StringIO(complete, newline=""), delimiter=delimiter):
            records.append(cells)
            if len(records) >= limit:
                break
    except csv.Error:
        pass  # a sample cut inside a quoted cell: what came before still counts
    return records


def _consistency(records: list[list[str]]) -> tuple[float, int]:
    """How regular the records' widths are (share of the modal width) and that width."""
    widths = [len(r) for r in records if any(c.strip() for c in r)]
    if not widths:
        return 0.0, 0
    width, count = Counter(widths).most_common(1)[0]
    return count / len(widths), width


def detect_delimiter(text: str) -> str:
    """The delimiter splitting the sample into the most regular records of more than one cell.

    Ties go to the earlier of `,` `;` tab `|`; a single-column file is comma-separated.
    """
    best, best_score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        share, width = _consistency(parse_sample(text, delimiter))
        if width < 2:
            continue
        score = (share, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _filled(record: list[str]) -> int:
    return sum(1 for cell in record if cell.strip())


def detect_header_row(records: list[list[str]]) -> int:
    """The 0-based index of the header among `records`: the first that fills at least half of
    the widest row's cells (title lines above it fill one or two); 0 when nothing stands out."""
    if not records:
        return 0
    widest = max(_filled(r) for r in records[:SAMPLE_RECORDS])
    needed = max(2, (widest + 1) // 2) if widest >= 2 else 1
    for index, record in enumerate(records[:HEADER_SEARCH]):
        if _filled(record) >= needed:
            return index
    return next((i for i, r in enumerate(records) if _filled(r)), 0)


def uses_decimal_comma(delimiter: str) -> bool:
    """Files separated by ';' come from locales writing 3,5 for 3.5 (European Excel)."""
    return delimiter == ";"
