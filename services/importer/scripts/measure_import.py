"""Measure the importer's parse + map + batch path on a generated CSV (not a test).

    uv run python services/importer/scripts/measure_import.py [rows]

Reports rows/s for (1) reading and mapping alone and (2) the real reading path: batches of
ImportContactsBatch committed to the SQLite outbox with the job's progress, as the worker does.
"""

from __future__ import annotations

import asyncio
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from crm_importer.adapters.collections import COLLECTION_SPECS
from crm_importer.adapters.files import DataFiles
from crm_importer.adapters.repository import ImportJobs
from crm_importer.domain.commands import StartImport
from crm_importer.domain.mapping import plan_columns
from crm_importer.domain.records import CsvRecords, UnparsableRecord
from crm_importer.domain.rows import RowMapper
from crm_importer.service_layer.imports import start_import
from crm_importer.service_layer.reading import ReadingOptions, process_import
from crm_shared.ids import new_id
from crm_shared.storage.sqlite import SqliteStore

HEADER = "name,email,phone,company,timezone,tags,plan\n"
OPTIONS = ReadingOptions(batch_size=1000, batch_max_bytes=512 * 1024, suppression_key=b"k")


def generate(path: Path, rows: int) -> None:
    """A CSV of `rows` plausible contacts (7 columns, ~90 bytes a row)."""
    rng = random.Random(7)
    zones = ["Europe/Paris", "America/New_York", "Asia/Tokyo"]
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for n in range(rows):
            out.write(
                f"Person {n},person{n}@example.com,+1 415 555 {n % 10000:04d},Company {n % 977},"
                f'{rng.choice(zones)},"vip;wave-{n % 5}",{rng.choice(["free", "pro"])}\n'
            )


def measure_mapping(path: Path) -> tuple[int, float]:
    """Read and map every row (no store): the CPU cost of the per-row path."""
    mapper = RowMapper(
        plan_columns(HEADER.strip().split(","), {"plan": "custom.plan"}),
        max_row_bytes=OPTIONS.max_row_bytes,
    )
    started = time.perf_counter()
    chunk = OPTIONS.new_chunk()
    mapped = 0
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as text:
        records = CsvRecords(text)
        records.header()
        for row_number, record in records:
            if not isinstance(record, UnparsableRecord):
                chunk.add(row_number, mapper.map(row_number, record))
            if chunk.full:
                mapped += len(chunk.rows)
                chunk = OPTIONS.new_chunk()
    mapped += len(chunk.rows)
    return mapped, time.perf_counter() - started


async def measure_reading(path: Path, data_dir: Path) -> tuple[int, float]:
    """The worker's path: batches + progress committed to the SQLite outbox, one per 1,000 rows."""
    files = DataFiles(data_dir / "importer")
    files.prepare()
    store = SqliteStore(data_dir / "importer.sqlite3")
    await store.start(COLLECTION_SPECS)
    try:
        job_id = new_id()
        shutil.copyfile(path, files.partial_upload_path(job_id))
        command = StartImport(job_id=job_id, mapping={"plan": "custom.plan"})
        await start_import(store, files, command, tenant="bench", actor="bench")
        started = time.perf_counter()
        await process_import(store, files, tenant="bench", job_id=job_id, options=OPTIONS)
        elapsed = time.perf_counter() - started
        async with store.reader() as session:
            job = await ImportJobs(session).get(tenant="bench", job_id=job_id)
        assert job is not None and job.total_rows == job.published_rows
        return job.batches_published, elapsed
    finally:
        await store.close()


def main() -> None:
    """Generate the CSV, run both measurements, print rows/s."""
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "contacts.csv"
        generate(csv_path, rows)
        size_mb = csv_path.stat().st_size / 1e6
        mapped, seconds = measure_mapping(csv_path)
        print(f"{rows} rows, {size_mb:.1f} MB")
        print(f"read + map + chunk:            {mapped / seconds:>9,.0f} rows/s ({seconds:.2f} s)")
        batches, seconds = asyncio.run(measure_reading(csv_path, Path(tmp)))
        print(
            f"read + map + batch to outbox:  {rows / seconds:>9,.0f} rows/s ({seconds:.2f} s, "
            f"{batches} batch commands)"
        )
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of the process:    {peak_mb:>9,.0f} MB")


if __name__ == "__main__":
    main()
