"""File-reading benchmark of the importer: .xlsx import rows/s against a bare calamine pass over
the same workbook, and the preview latency of a 100 MB CSV, both measured in the same run.

The .xlsx figure is the importer's whole read path without the store and the bus: the head read
(zip-bomb and DOCTYPE checks, the bounded calamine child), the column plan, the sheet converted
to CSV by the child, then every row parsed and mapped as the worker does. The ceiling is one
in-process calamine pass turning every cell into text. The preview reads only the file's head,
so its latency should not grow with the file (goal: under 1 s); the ceiling printed next to it
is one plain `csv.reader` pass over the whole file.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from crm_importer.adapters.workbook_child import cell_text
from crm_importer.adapters.workbooks import WorkbookBudget, check_workbook, convert_sheet
from crm_importer.domain.layout import LayoutChoice
from crm_importer.domain.mapping import plan_columns
from crm_importer.domain.records import CsvRecords
from crm_importer.domain.rows import MappedRow, RowMapper
from crm_importer.service_layer.file_head import read_head, sniff_upload
from crm_importer.service_layer.preview import preview_upload

HEADER = ["First Name", "Last Name", "Email", "Phone Number", "Company Name", "Seats"]
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Perlman"]
COMPANIES = ["Acme Inc", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries"]


def _row(rng: random.Random, n: int) -> list[object]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return [
        first,
        last,
        f"{first.lower()}.{last.lower()}.{n}@example.com",
        f"+1 202 555 {n % 10000:04d}",
        rng.choice(COMPANIES),
        rng.randint(1, 500),
    ]


def write_xlsx(path: Path, rows: int) -> None:
    """An .xlsx of `rows` contacts (HubSpot-style headers), written in streaming mode."""
    rng = random.Random(7)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Contacts")
    sheet.append(HEADER)
    for n in range(rows):
        sheet.append(_row(rng, n))
    book.save(path)


def write_csv(path: Path, megabytes: int) -> int:
    """A CSV of at least `megabytes` MB; returns its rows."""
    rng = random.Random(11)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        while out.tell() < megabytes * 1024 * 1024:
            writer.writerows(_row(rng, rows + i) for i in range(10_000))
            rows += 10_000
    return rows


def bare_calamine(path: Path) -> tuple[int, float]:
    """Rows and seconds of one calamine pass turning every cell into text."""
    start = time.perf_counter()
    book = CalamineWorkbook.from_path(str(path))
    rows = 0
    for row in book.get_sheet_by_name(book.sheet_names[0]).iter_rows():
        [cell_text(v) for v in row]
        rows += 1
    return rows - 1, time.perf_counter() - start


async def importer_xlsx(path: Path, work: Path) -> tuple[int, float]:
    """Rows and seconds of the importer's read path over the workbook."""
    budget = WorkbookBudget()
    start = time.perf_counter()
    # As an upload: checked, converted by one bounded child, the head read from the CSV.
    check_workbook(path, sniff_upload(path), budget)
    converted = work / "sheet.csv"
    await convert_sheet(path, None, converted, budget)
    head = await read_head(converted, LayoutChoice(), budget)
    plan = plan_columns(head.header, {"Seats": "custom.seats"}, head.samples())
    mapper = RowMapper(plan, max_row_bytes=128 * 1024)
    rows = 0
    with converted.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as text:
        records = CsvRecords(text)
        records.header(skip=head.layout.header_row - 1)
        for number, record in records:
            if isinstance(record, list) and isinstance(mapper.map(number, record), MappedRow):
                rows += 1
    return rows, time.perf_counter() - start


def bare_csv(path: Path) -> float:
    """Seconds of one csv.reader pass over the whole file."""
    start = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as text:
        for _ in csv.reader(text):
            pass
    return time.perf_counter() - start


async def preview_seconds(path: Path) -> float:
    """Seconds of one preview of the file (median of three)."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        await preview_upload(path, choice=LayoutChoice(), mapping=None, region="US")
        times.append(time.perf_counter() - start)
    return sorted(times)[1]


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print them with their same-run ceilings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--csv-mb", type=int, default=100)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crm-import-files-") as tmp:
        work = Path(tmp)
        book = work / "contacts.xlsx"
        write_xlsx(book, args.xlsx_rows)
        ceiling_rows, ceiling_s = bare_calamine(book)
        rows, seconds = asyncio.run(importer_xlsx(book, work))
        print(
            f"xlsx import read path: {rows} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s;"
            " "
            f"bare calamine pass: {ceiling_rows / ceiling_s:,.0f} rows/s; "
            f"ratio {(rows / seconds) / (ceiling_rows / ceiling_s):.2f} "
            f"({book.stat().st_size / 1e6:.1f} MB workbook)"
        )
        big = work / "contacts.csv"
        csv_rows = write_csv(big, args.csv_mb)
        preview = asyncio.run(preview_seconds(big))
        full = bare_csv(big)
        print(
            f"preview of a {big.stat().st_size / 1e6:.0f} MB CSV ({csv_rows} rows): "
            f"{preview * 1000:.0f} ms (goal < 1000 ms: {'met' if preview < 1 else 'MISSED'}); "
            f"a bare csv.reader pass over the whole file: {full * 1000:.0f} ms; "
            f"ratio {preview / full:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
