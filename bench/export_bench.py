"""Export benchmark: the export path to CSV and .xlsx against bare writers in the same run.

N contacts, as the contacts API lists them (JSON pages of 200, served in memory), go through the
real export handler (`run_export`: paging client, row formatting with formula neutralization, the
file and its id list) into CSV and into .xlsx. The ceiling of each format is a bare pass of the
same rows, already as lists of text, through `csv.writer` and through xlsxwriter's
constant_memory mode. The ratio says what the export path costs over writing the file alone;
the contacts service's own listing (issue 11) is not part of it.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import xlsxwriter

from crm_importer.adapters.collections import COLLECTION_SPECS
from crm_importer.adapters.contacts_client import ContactsClient
from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import Exports
from crm_importer.domain.exports import ExportFormat, ExportJob, contact_row
from crm_importer.service_layer.exports import run_export
from crm_shared.clock import now_iso
from crm_shared.ids import new_id
from crm_shared.storage.memory import MemoryStore

FIELDS = [
    "id",
    "name",
    "email",
    "phone",
    "company",
    "tags",
    "emails",
    "owner",
    "created_at",
    "custom.plan",
]
PAGE = 200
TENANT = "bench"


def make_contacts(count: int, *, seed: int = 11) -> list[dict[str, Any]]:
    """Contacts as the API lists them; one in 50 holds a formula-like company to neutralize."""
    rng = random.Random(seed)
    return [
        {
            "id": new_id(),
            "name": f"Person {n}",
            "email": f"p{n}@example.com",
            "phone": f"+1415{rng.randrange(2000000, 9999999)}",
            "company": "=HYPERLINK(1)" if n % 50 == 0 else rng.choice(["Acme", "Globex", "Hooli"]),
            "tags": ["prospect", "bench"] if n % 3 else ["customer"],
            "emails": [f"p{n}.work@example.com"] if n % 4 == 0 else [],
            "owner": "user-1",
            "created_at": "2026-01-01T00:00:00.000000Z",
            "custom_fields": {"plan": rng.choice(["free", "pro"])},
        }
        for n in range(count)
    ]


def contacts_api(contacts: list[dict[str, Any]]) -> httpx.MockTransport:
    """The contacts API's pages, serialized once up front: the benchmark times the importer."""
    pages = [
        orjson.dumps(
            {
                "items": contacts[start : start + PAGE],
                "next_cursor": str(start + PAGE) if start + PAGE < len(contacts) else None,
            }
        )
        for start in range(0, len(contacts), PAGE)
    ] or [orjson.dumps({"items": [], "next_cursor": None})]

    def handle(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("cursor", "0"))
        return httpx.Response(
            200, content=pages[start // PAGE], headers={"content-type": "application/json"}
        )

    return httpx.MockTransport(handle)


async def export_rows_per_second(
    contacts: list[dict[str, Any]], workdir: Path, file_format: ExportFormat
) -> float:
    """Run the real export handler over every contact; rows per second."""
    store = MemoryStore()
    await store.start(COLLECTION_SPECS)
    files = DataFiles(workdir / file_format)
    files.prepare()
    export = ExportJob(
        id=new_id(), tenant=TENANT, fields=FIELDS, format=file_format, created_at=now_iso()
    )
    async with store.transaction() as session:
        await Exports(session).add(export)
    client = ContactsClient("http://contacts", transport=contacts_api(contacts))
    started = time.perf_counter()
    await run_export(
        store,
        files,
        client,
        tenant=TENANT,
        export_id=export.id,
        authorization="Bearer bench",
        page_size=PAGE,
    )
    elapsed = time.perf_counter() - started
    await client.aclose()
    async with store.reader() as session:
        done = await Exports(session).get(tenant=TENANT, export_id=export.id)
    if done is None or done.status != "completed" or done.rows != len(contacts):
        raise RuntimeError(f"export did not complete: {done}")
    return len(contacts) / elapsed


def bare_csv_rows_per_second(rows: list[list[str]], path: Path) -> float:
    """The same rows through csv.writer alone."""
    started = time.perf_counter()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        writer.writerows(rows)
    return len(rows) / (time.perf_counter() - started)


def bare_xlsx_rows_per_second(rows: list[list[str]], path: Path) -> float:
    """The same rows through xlsxwriter's constant_memory mode alone."""
    started = time.perf_counter()
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("contacts")
    sheet.write_row(0, 0, FIELDS)
    for number, row in enumerate(rows, start=1):
        for column, text in enumerate(row):
            if text:
                sheet.write_string(number, column, text)
    book.close()
    return len(rows) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    """Measure both formats and their bare ceilings; print rows/s and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="crm-export-bench-"))
    contacts = make_contacts(args.contacts)
    rows = [contact_row(contact, FIELDS) for contact in contacts]
    print(f"export benchmark: {args.contacts:,} contacts, {len(FIELDS)} fields", flush=True)
    passes: list[tuple[ExportFormat, Callable[[list[list[str]], Path], float]]] = [
        ("csv", bare_csv_rows_per_second),
        ("xlsx", bare_xlsx_rows_per_second),
    ]
    for file_format, bare in passes:
        ceiling = bare(rows, workdir / f"bare.{file_format}")
        rate = asyncio.run(export_rows_per_second(contacts, workdir, file_format))
        print(
            f"{file_format:>4} export: {rate:,.0f} rows/s; bare writer (same run): "
            f"{ceiling:,.0f} rows/s; ratio export / bare: {rate / ceiling:.3f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
