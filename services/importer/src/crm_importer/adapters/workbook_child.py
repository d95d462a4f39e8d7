"""Reads one sheet of a workbook with calamine, in a child process the importer bounds in memory
and CPU time (`workbooks.py`): whatever a hostile workbook does, the importer's memory stays put.

`python -m crm_importer.adapters.workbook_child head <file> <sheet or ""> <rows>` prints
{"sheets", "sheet", "rows"} as JSON; `... convert <file> <sheet or ""> <out.csv>` writes the sheet
as UTF-8 CSV and prints {"sheets", "sheet", "rows": <count>}. Errors: exit 2 with {"error"}.
"""

from __future__ import annotations

import csv
import datetime
import json
import sys
from collections.abc import Iterator
from typing import Any

from python_calamine import CalamineWorkbook, SheetTypeEnum


def cell_text(value: Any) -> str:
    """A cell as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def _rows(book: CalamineWorkbook, sheet: str) -> Iterator[list[str]]:
    for row in book.get_sheet_by_name(sheet).iter_rows():
        yield [cell_text(v) for v in row]


def _open(path: str, wanted: str) -> tuple[CalamineWorkbook, list[str], str]:
    book = CalamineWorkbook.from_path(path)
    sheets = [m.name for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    if not sheets:
        raise LookupError("the workbook has no worksheet")
    if wanted and wanted not in sheets:
        raise LookupError(f"the workbook has no sheet named '{wanted}'; its sheets: {sheets}")
    return book, sheets, wanted or sheets[0]


def main(argv: list[str]) -> int:
    """Run one command; the answer is JSON on stdout."""
    mode, path, wanted, arg = argv
    try:
        book, sheets, sheet = _open(path, wanted)
        if mode == "head":
            rows = []
            for row in _rows(book, sheet):
                rows.append(row)
                if len(rows) >= int(arg):
                    break
            answer: dict[str, Any] = {"sheets": sheets, "sheet": sheet, "rows": rows}
        else:
            count = 0
            with open(arg, "w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out)
                for row in _rows(book, sheet):
                    writer.writerow(row)
                    count += 1
            answer = {"sheets": sheets, "sheet": sheet, "rows": count}
    except LookupError as exc:
        print(json.dumps({"error": str(exc)}))
        return 2
    except Exception as exc:  # calamine's errors: a damaged or unreadable workbook
        print(json.dumps({"error": f"the workbook could not be read ({type(exc).__name__})"}))
        return 2
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
