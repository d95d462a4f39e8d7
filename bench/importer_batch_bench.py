"""CPU per row of the importer's batch path, in process: each CSV record mapped to its row and
every 1,000 rows' command envelope written (`RowMapper.map`, `ImportChunk`, `batch_events`),
over the import bench's people (`import_bench.generate_csv`).

Printed beside a same-run floor: csv.reader alone over the same file plus one orjson.dumps of
each 1,000 records' cells as lists (reading and serialising the bytes, no mapping), and the ratio.
Best of three passes; the file is read once into memory first.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench.import_bench import generate_csv
from bench.processes import load_average
from crm_importer.domain.jobs import ImportChunk, ImportJob
from crm_importer.domain.mapping import plan_columns
from crm_importer.domain.rows import RowMapper
from crm_importer.service_layer.imports import batch_events

BATCH_ROWS = 1_000
NOW = "2026-01-01T00:00:00.000000Z"


def _new_chunk() -> ImportChunk:
    return ImportChunk(max_rows=BATCH_ROWS, max_bytes=1 << 30, max_row_bytes=1 << 20)


def batch_path_seconds(job: ImportJob, records: list[list[str]]) -> tuple[float, int]:
    """CPU seconds mapping every record and writing each batch's envelope; bytes written."""
    mapper = RowMapper(job.plan, max_row_bytes=1 << 20)
    started, written, batch_no = time.process_time(), 0, 0
    chunk = _new_chunk()
    for number, cells in enumerate(records, start=2):
        chunk.add(number, mapper.map(number, cells))
        if chunk.full or number == len(records) + 1:
            batch_no += 1
            events = batch_events(job, [(batch_no, chunk.rows)])
            written += sum(len(event.envelope.to_bytes()) for event in events)
            chunk = _new_chunk()
    return time.process_time() - started, written


def floor_seconds(text: str) -> float:
    """CPU seconds of csv.reader over the text and orjson.dumps of each batch's cells."""
    started = time.process_time()
    reader = csv.reader(text.splitlines())
    next(reader)
    batch: list[list[str]] = []
    for cells in reader:
        batch.append(cells)
        if len(batch) == BATCH_ROWS:
            orjson.dumps(batch)
            batch = []
    orjson.dumps(batch)
    return time.process_time() - started


def main(argv: list[str] | None = None) -> int:
    """Generate the people, time the batch path and its floor, print CPU per row and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args(argv)
    print(load_average(), flush=True)
    with tempfile.TemporaryDirectory(prefix="crm-importer-batch-") as folder:
        path = Path(folder) / "contacts.csv"
        generate_csv(path, args.rows)
        text = path.read_text()
    header, *records = list(csv.reader(text.splitlines()))
    job = ImportJob(
        id="job",
        tenant="bench",
        on_duplicate="skip",
        plan=plan_columns(header, None),
        created_at=NOW,
    )
    runs = [batch_path_seconds(job, records) for _ in range(3)]
    used, written = min(runs)
    floor = min(floor_seconds(text) for _ in range(3))
    rows = len(records)
    print(
        f"importer batch path: {used / rows * 1e6:.1f} us CPU/row over {rows} rows "
        f"({written / 1e6:.1f} MB of batch envelopes); floor (csv.reader + orjson.dumps of the "
        f"cells) {floor / rows * 1e6:.1f} us/row; ratio {floor / used:.2f} to the floor"
    )
    print(load_average())
    return 0


if __name__ == "__main__":
    sys.exit(main())
