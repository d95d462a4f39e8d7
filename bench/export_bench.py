"""Export benchmark: N contacts from the contacts service to a CSV file, end to end, next to a
bare pass over the same SQLite file in the same run.

The real path: the contacts service runs as its own process (with the embedded broker) on a
SQLite store of N contacts (built as the search benchmark builds its store, then brought to the
current derived fields by the service's own backfill, so the service starts with nothing to do);
the importer's export handler (`run_export`, its real HTTP client, `GET /v1/contacts/stream`)
writes the CSV file in this process, as the importer process would. It asks the stream for the
export's fields (`fields=`: the id and the 10 columns in FIELDS below), as every export
does, so the contacts service reads and sends those alone. Printed: the total time,
the time until the file holds its first contact row (polled off the file's size), rows/s and
the CPU each side spent per contact. Goal at 1,000,000 contacts: under 15 s, first row under
1 s.

The ceiling: hand-written SQL over the same file (the tenant's live contacts in id order), each
document parsed by orjson and its fields written by `csv.writer` (no service, no HTTP, no
formula neutralization). Both files must list the same ids in the same order.

A store built once can be reused (`--store DIR`, the contacts service's data folder): loading a
million contacts takes several minutes. Run it un-niced: other work on the cores skews it.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import xlsxwriter

from bench.processes import cpu_seconds, load_average
from bench.search_bench import TENANT, load
from crm_contacts.adapters.bulk import BULK_SPECS
from crm_contacts.adapters.campaigns import CAMPAIGN_SPECS
from crm_contacts.adapters.forms import FORM_SPECS
from crm_contacts.adapters.repository import COLLECTION_SPECS as CONTACTS_SPECS
from crm_contacts.adapters.rewrite_jobs import JOB_SPECS
from crm_contacts.service_layer.derived_backfill import backfill_derived_fields
from crm_importer.adapters.collections import COLLECTION_SPECS
from crm_importer.adapters.contacts_client import ContactsClient
from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import Exports
from crm_importer.domain.exports import ExportFormat, ExportJob
from crm_importer.service_layer.exports import run_export
from crm_shared.clock import now_iso
from crm_shared.devstack import EmbeddedBroker, Platform, free_port
from crm_shared.ids import new_id
from crm_shared.storage.memory import MemoryStore
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_ids import ID_TEXT_SQL
from crm_shared.storage.sqlite_keys import KeyMap, stored_keys
from crm_shared.storage.sqlite_stamps import read_stamp
from crm_shared.storage.sqlite_tenants import TENANT_CODE_OF

FIELDS = [
    "id",
    "name",
    "email",
    "phone",
    "company",
    "tags",
    "owner",
    "source",
    "created_at",
    "custom.plan",
    "custom.seats",
]
VIEWER_KEY = "bench-export-viewer-key"
STORE_FILE = "contacts.sqlite3"  # the contacts service's file in its data folder
# The contacts service's own collections, as its composition root starts them.
SERVICE_SPECS = (*CONTACTS_SPECS, *CAMPAIGN_SPECS, *BULK_SPECS, *FORM_SPECS, *JOB_SPECS)
# Declared fields are stored under short codes: the paths and names come from the store's own.
_LIVE_IN_ID_ORDER = (
    f"SELECT {ID_TEXT_SQL}, doc FROM c_contacts WHERE tenant = {TENANT_CODE_OF} "
    "AND doc ->> '{deleted}' IS NULL "
    "AND doc ->> '{erased}' IS NULL ORDER BY id"
)


def _live_in_id_order(db: sqlite3.Connection) -> tuple[str, KeyMap]:
    """The ceiling's SELECT on this file, and the codes to read its documents' names."""
    keys = stored_keys(db, "contacts")
    sql = _LIVE_IN_ID_ORDER.format(deleted=keys.path("deleted_at"), erased=keys.path("erased_at"))
    return sql, keys


def stored_count(path: Path) -> int:
    """How many contacts of the benchmark's tenant the store holds."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        row = db.execute(
            f"SELECT count(*) FROM c_contacts WHERE tenant = {TENANT_CODE_OF}", (TENANT,)
        ).fetchone()
    return int(row[0])


async def build_store(path: Path, count: int) -> None:
    """Load `count` contacts, then run the service's derived-fields backfill to its end here,
    without its pauses, so the service process finds it finished (it would otherwise walk every
    contact in the background while the export runs)."""
    _, loaded, indexed = await load(path, count)
    print(f"loaded in {loaded:.1f} s, indexes built in {indexed:.1f} s", flush=True)
    started = time.perf_counter()
    store = SqliteStore(path)
    await store.start(SERVICE_SPECS)
    run = await backfill_derived_fields(store, chunk=5000, pause=0)
    await store.close()
    print(
        f"derived-fields backfill: {run.processed:,} read, {run.rewritten:,} rewritten in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )


class FirstRow:
    """Watches a folder from a thread; records when a CSV file in it first grows past `header`
    bytes (its first contact row reached the operating system)."""

    def __init__(self, folder: Path, header: int) -> None:
        self._folder, self._header = folder, header
        self._stop = threading.Event()
        self.at: float | None = None
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set() and self.at is None:
            for entry in os.scandir(self._folder):
                # An .xlsx workbook reaches the disk only when it is closed: CSV files only.
                sheet = entry.name.endswith((".csv.part", ".csv"))
                if sheet and entry.stat().st_size > self._header:
                    self.at = time.perf_counter()
            time.sleep(0.001)

    def __enter__(self) -> FirstRow:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _header_bytes() -> int:
    return len(",".join(FIELDS)) + 2


def _row(contact_id: str, doc: dict[str, Any]) -> list[str]:
    custom = doc.get("custom_fields") or {}
    seats = custom.get("seats")
    return [
        contact_id,
        doc.get("name") or "",
        doc.get("email") or "",
        doc.get("phone") or "",
        doc.get("company") or "",
        ";".join(doc.get("tags") or ()),
        doc.get("owner") or "",
        doc.get("source") or "",
        # Stored as an integer (sqlite_stamps.py): the file holds its text.
        read_stamp(doc.get("created_at")) or "",
        custom.get("plan") or "",
        "" if seats is None else str(seats),
    ]


def bare_csv(path: Path, out: Path) -> tuple[float, float, list[str]]:
    """The ceiling: hand-written SQL into csv.writer; seconds, first-row seconds, the ids."""
    ids: list[str] = []
    started = time.perf_counter()
    first = 0.0
    with (
        sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db,
        out.open("w", encoding="utf-8", newline="") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        sql, keys = _live_in_id_order(db)
        rows = db.execute(sql, (TENANT,))
        while chunk := rows.fetchmany(5000):
            for contact_id, doc in chunk:
                writer.writerow(_row(contact_id, keys.decode(orjson.loads(doc))))
                ids.append(contact_id)
            if not first:
                handle.flush()
                first = time.perf_counter() - started
    return time.perf_counter() - started, first, ids


def bare_xlsx(path: Path, out: Path) -> float:
    """The .xlsx ceiling: the same SQL into xlsxwriter's constant_memory mode; seconds."""
    started = time.perf_counter()
    book = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    sheet = book.add_worksheet("contacts")
    sheet.write_row(0, 0, FIELDS)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        sql, keys = _live_in_id_order(db)
        for number, (contact_id, doc) in enumerate(db.execute(sql, (TENANT,)), 1):
            for column, text in enumerate(_row(contact_id, keys.decode(orjson.loads(doc)))):
                if text:
                    sheet.write_string(number, column, text)
    book.close()
    return time.perf_counter() - started


def warm(path: Path) -> None:
    """Read the whole file once, so neither pass pays for the disk (the OS caches it)."""
    with path.open("rb") as handle:
        while handle.read(1 << 24):
            pass


async def service_export(
    url: str, folder: Path, file_format: ExportFormat
) -> tuple[float, float, ExportJob, DataFiles]:
    """The importer's export handler over the contacts process; seconds, first-row seconds."""
    store = MemoryStore()
    await store.start(COLLECTION_SPECS)
    files = DataFiles(folder)
    files.prepare()
    export = ExportJob(
        id=new_id(), tenant=TENANT, fields=FIELDS, format=file_format, created_at=now_iso()
    )
    async with store.transaction() as session:
        await Exports(session).add(export)
    client = ContactsClient(url)
    try:
        with FirstRow(files.exports, _header_bytes()) as first_row:
            started = time.perf_counter()
            await run_export(
                store,
                files,
                client,
                tenant=TENANT,
                export_id=export.id,
                authorization=f"Bearer {VIEWER_KEY}",
                page_size=200,
            )
            elapsed = time.perf_counter() - started
    finally:
        await client.aclose()
    async with store.reader() as session:
        done = await Exports(session).get(tenant=TENANT, export_id=export.id)
    if done is None or done.status != "completed":
        raise RuntimeError(f"export did not complete: {done}")
    first = (first_row.at - started) if first_row.at is not None else float("nan")
    return elapsed, first, done, files


def measure(store_dir: Path, workdir: Path, formats: list[ExportFormat]) -> None:
    """Start the contacts service on the store, run each export and the ceilings, print."""
    path = store_dir / STORE_FILE
    warm(path)
    print(f"{load_average()} before the ceiling", flush=True)
    bare_seconds, bare_first, bare_ids = bare_csv(path, workdir / "bare.csv")
    count = len(bare_ids)
    broker = EmbeddedBroker()
    broker.start()
    platform = Platform(
        broker.bootstrap_servers,
        store_dir,
        {"contacts": free_port()},
        extra_env={"CRM_API_KEYS": f"{VIEWER_KEY}:{TENANT}:viewer", "CRM_ENV": "test"},
        ready_timeout=600,
    )
    try:
        platform.start(iter(["contacts"]))
        contacts = platform.services["contacts"]
        assert contacts.process is not None
        pid = contacts.process.pid
        for file_format in formats:
            print(f"{load_average()} before the {file_format} export", flush=True)
            service_cpu, own_cpu = cpu_seconds(pid), time.process_time()
            seconds, first, done, files = asyncio.run(
                service_export(contacts.url, workdir / file_format, file_format)
            )
            service_cpu, own_cpu = cpu_seconds(pid) - service_cpu, time.process_time() - own_cpu
            exported = files.export_ids_path(done.id).read_text().split()
            if exported != bare_ids:
                raise RuntimeError("the export and the bare pass listed different contacts")
            print(
                f"{file_format:>4} export, contacts service -> run_export: {seconds:.2f} s, first "
                f"row after {first:.3f} s, {count / seconds:,.0f} rows/s; CPU per contact: "
                f"contacts {service_cpu / count * 1e6:.1f} us, importer "
                f"{own_cpu / count * 1e6:.1f} us ({load_average()})",
                flush=True,
            )
            if file_format == "csv":
                print(
                    f"      bare SQL -> csv.writer (same run): {bare_seconds:.2f} s, first row "
                    f"after {bare_first:.3f} s, {count / bare_seconds:,.0f} rows/s; "
                    f"ratio export / bare: {bare_seconds / seconds:.3f}",
                    flush=True,
                )
                if count >= 1_000_000:
                    met = seconds < 15 and first < 1
                    verdict = "met" if met else "MISSED"
                    print(f"      goal (1M in < 15 s, first row < 1 s): {verdict}", flush=True)
            else:
                bare = bare_xlsx(path, workdir / "bare.xlsx")
                print(
                    f"      bare SQL -> xlsxwriter (same run): {bare:.2f} s, "
                    f"{count / bare:,.0f} rows/s; ratio export / bare: {bare / seconds:.3f}",
                    flush=True,
                )
    finally:
        platform.stop()
        broker.stop()


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the store, then measure the export and its ceiling."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument(
        "--store",
        type=Path,
        help="the contacts service's data folder to reuse (built on the first run, then kept)",
    )
    parser.add_argument("--xlsx", action="store_true", help="also export to .xlsx")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="crm-export-bench-"))
    store_dir: Path = args.store or workdir / "data"
    store_dir.mkdir(parents=True, exist_ok=True)
    path = store_dir / STORE_FILE
    try:
        if path.exists():
            if (held := stored_count(path)) != args.contacts:
                sys.exit(f"{path} holds {held:,} contacts, not {args.contacts:,}")
            print(f"reusing {held:,} contacts in {path}", flush=True)
        else:
            print(f"loading {args.contacts:,} contacts into {path} ...", flush=True)
            asyncio.run(build_store(path, args.contacts))
        print(
            f"export benchmark: {args.contacts:,} contacts, {len(FIELDS)} fields "
            f"(the stream asked for fields={','.join(FIELDS)})",
            flush=True,
        )
        formats: list[ExportFormat] = ["csv", "xlsx"] if args.xlsx else ["csv"]
        measure(store_dir, workdir, formats)
    finally:
        if args.store:
            print(f"(store kept: {store_dir})")
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
