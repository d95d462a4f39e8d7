"""Import benchmark on the embedded stack: end-to-end rows/s against a same-run SQLite ceiling.

The ceiling is the same CSV parsed and bulk-inserted straight into a SQLite table of the same shape
as the contacts collection (tenant, id, JSON doc, email index), in 5,000-row transactions: the
fastest this machine could possibly land these rows, with no bus, no validation and no services.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import sqlite3
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.backlog import BacklogWatch
from bench.duplicates_data import person
from bench.processes import cpu_seconds, load_average
from crm_shared.devstack import SERVICES, EmbeddedBroker, Platform, ServiceProcess, free_port
from crm_shared.ids import new_id
from crm_shared.messaging.kafka import ensure_topics
from crm_shared.topics import ALL_TOPICS
from crm_shared.wiring import messaging_of

HEADER = ["name", "email", "phone", "company", "timezone", "tags"]
COMPANIES = ["Acme Inc", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Ent"]
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", ""]
DEV_KEY = "dev-admin-key"
# The consumers an import fans out to: each imported contact's timeline and audit entries.
FAN_OUT_GROUPS = (("timeline", "crm-timeline"), ("gdpr", "crm-gdpr-audit"))
TOPICS_BY_NAME = {topic.name: topic for topic in ALL_TOPICS}
# How long the idle use of each process is measured before the first import.
IDLE_SECONDS = 10.0
# How long the bench waits after the first import for its contacts' duplicate re-match to finish.
REMATCH_WAIT_SECONDS = 900.0


def _local_part(name: str) -> str:
    """A name as ASCII letters for an address's local part (Ö -> o, no spaces or apostrophes)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum()) or "x"


def generate_csv(path: Path, rows: int, *, seed: int = 7, company_shift: int = 0) -> None:
    """Write a contacts CSV with unique emails and realistic, varied values.

    Names are drawn by frequency from nine locales' tables (the duplicates bench's people), so
    strangers share a name about as often as in real data: the duplicate re-match of an import
    costs what it would on a real file, not what 72 names repeated 1,400 times each would.

    The same seed writes the same people; `company_shift` moves each to another company, so a
    second file updates every contact the first one created."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            first, last = person(rng)
            writer.writerow(
                [
                    f"{first} {last}",
                    f"{_local_part(first)}.{_local_part(last)}.{i}@example.com",
                    f"+1415{rng.randrange(2000000, 9999999)}",
                    COMPANIES[(rng.randrange(len(COMPANIES)) + company_shift) % len(COMPANIES)],
                    rng.choice(ZONES),
                    "prospect;bench" if i % 3 else "customer",
                ]
            )


def ceiling_rows_per_second(path: Path, workdir: Path) -> float:
    """Parse the CSV and bulk-insert documents straight into SQLite: the no-overhead ceiling."""
    db = sqlite3.connect(workdir / "ceiling.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE c_contacts (tenant TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL, "
        "PRIMARY KEY (tenant, id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX ix_email ON c_contacts (tenant, json_extract(doc, '$.email_norm'))")
    started = time.perf_counter()
    count = 0
    batch: list[tuple[str, str, str]] = []
    doc: dict[str, Any]
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            doc = {
                "id": new_id(),
                "tenant": "bench",
                "name": row["name"],
                "email": row["email"],
                "email_norm": row["email"].lower(),
                "phone": row["phone"],
                "company": row["company"],
                "timezone": row["timezone"] or None,
                "tags": row["tags"].split(";"),
            }
            batch.append(("bench", str(doc["id"]), orjson.dumps(doc).decode()))
            if len(batch) == 5000:
                count += _flush(db, batch)
    count += _flush(db, batch)
    elapsed = time.perf_counter() - started
    db.close()
    return count / elapsed


def _flush(db: sqlite3.Connection, batch: list[tuple[str, str, str]]) -> int:
    if not batch:
        return 0
    db.execute("BEGIN")
    db.executemany("INSERT INTO c_contacts (tenant, id, doc) VALUES (?, ?, ?)", batch)
    db.execute("COMMIT")
    size = len(batch)
    batch.clear()
    return size


@dataclass(frozen=True)
class ImportRun:
    """One import end to end: rows/s until every row was accounted for, and until fanned out."""

    rows_per_second: float
    job: dict[str, Any]
    # Until the timeline and the audit log had consumed every event the import caused.
    fanned_out_seconds: float
    # CPU seconds each process used over the run (services, and the broker).
    cpu: dict[str, float]


async def fan_out_lag(bootstrap: str) -> int:
    """Events the timeline and the audit log have yet to consume (committed offsets vs ends).

    Each group's commits are read by a consumer that names the group but never joins it (the
    admin client's offset fetch does not decode the embedded broker's answer).
    """
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    watchers = {
        group: AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        for _, group in FAN_OUT_GROUPS
    }
    await reader.start()
    for watcher in watchers.values():
        await watcher.start()
    try:
        lag = 0
        for service, group in FAN_OUT_GROUPS:
            partitions = [
                TopicPartition(topic, partition)
                for topic in messaging_of(service).topics_of(group)
                for partition in range(TOPICS_BY_NAME[topic].partitions)
            ]
            ends = await reader.end_offsets(partitions)
            for tp in partitions:
                done = await watchers[group].committed(tp) or 0
                lag += max(0, ends[tp] - done)
        return lag
    finally:
        await reader.stop()
        for watcher in watchers.values():
            await watcher.stop()


async def end_to_end(
    path: Path,
    rows: int,
    importer_url: str,
    *,
    bootstrap: str,
    pids: dict[str, int],
    on_duplicate: str = "skip",
) -> ImportRun:
    """Upload the CSV to the running importer, wait until every row is accounted for, then
    until the timeline and the audit log consumed everything."""
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.perf_counter()
    rate, job = await end_to_end_rows_per_second(
        path, rows, importer_url, on_duplicate=on_duplicate
    )
    while True:
        if await fan_out_lag(bootstrap) == 0:
            break
        await asyncio.sleep(0.2)
    fanned_out = time.perf_counter() - started
    cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
    return ImportRun(rate, job, fanned_out, cpu)


def idle_cpu_per_second(pids: dict[str, int], seconds: float = IDLE_SECONDS) -> dict[str, float]:
    """CPU seconds per second each process uses with nothing to do (consumers polling, loops)."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    time.sleep(seconds)
    return {name: (cpu_seconds(pid) - before[name]) / seconds for name, pid in pids.items()}


def cpu_line(run: ImportRun, idle: dict[str, float]) -> str:
    """Where the CPU went, per process, as seconds and microseconds per row; beside each, the
    same with the process's idle use over the run's wall time taken off (the import's own)."""
    rows = max(1, int(run.job["processed_rows"]))
    parts = []
    for name, used in run.cpu.items():
        own = max(0.0, used - idle.get(name, 0.0) * run.fanned_out_seconds)
        parts.append(
            f"{name} {used:.1f} s ({used / rows * 1e6:.0f} us/row, {own / rows * 1e6:.0f} own)"
        )
    total = sum(run.cpu.values())
    own_total = sum(
        max(0.0, used - idle.get(name, 0.0) * run.fanned_out_seconds)
        for name, used in run.cpu.items()
    )
    parts.append(f"all {total / rows * 1e6:.0f} us/row ({own_total / rows * 1e6:.0f} own)")
    return "  CPU: " + ", ".join(parts)


async def end_to_end_rows_per_second(
    path: Path, rows: int, importer_url: str, *, on_duplicate: str = "skip"
) -> tuple[float, dict[str, Any]]:
    """Upload the CSV to the running importer and wait until every row is accounted for."""
    headers = {"Authorization": f"Bearer {DEV_KEY}"}
    async with httpx.AsyncClient(base_url=importer_url, headers=headers, timeout=120) as client:
        started = time.perf_counter()
        with path.open("rb") as handle:
            response = await client.post(
                "/v1/imports",
                files={"file": ("contacts.csv", handle, "text/csv")},
                data={"on_duplicate": on_duplicate},
            )
        response.raise_for_status()
        job_id = response.json()["id"]
        while True:
            job = (await client.get(f"/v1/imports/{job_id}")).json()
            if job["status"] in ("completed", "failed"):
                break
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - started
    if job["status"] != "completed" or job["processed_rows"] != rows:
        raise RuntimeError(f"import did not complete cleanly: {job}")
    return rows / elapsed, job


def _rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found for pid {pid}")


def reset_peak_rss(pid: int) -> int:
    """Reset a process's peak-RSS counter (Linux `clear_refs`) and return its current RSS in KiB."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return _rss_kib(pid, "VmRSS")


async def export_all(importer_url: str) -> tuple[int, float]:
    """Export every contact with all profile fields and download it; return (rows, MB)."""
    headers = {"Authorization": f"Bearer {DEV_KEY}"}
    fields = ["id", "name", "email", "phone", "company", "timezone", "tags", "created_at"]
    async with httpx.AsyncClient(base_url=importer_url, headers=headers, timeout=120) as client:
        started = await client.post("/v1/exports", json={"fields": fields})
        started.raise_for_status()
        export_id = started.json()["id"]
        while True:
            job = (await client.get(f"/v1/exports/{export_id}")).json()
            if job["status"] in ("completed", "failed"):
                break
            await asyncio.sleep(0.2)
        size = 0
        async with client.stream("GET", f"/v1/exports/{export_id}/download") as response:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
    return int(job["rows"]), size / 1e6


def _store_sizes(data: Path) -> str:
    """Each service's SQLite file with its log, in MB."""
    sizes: dict[str, int] = {}
    for path in data.glob("*.sqlite3*"):
        service = path.name.split(".")[0]
        sizes[service] = sizes.get(service, 0) + path.stat().st_size
    return ", ".join(f"{name} {size / 1e6:,.0f} MB" for name, size in sorted(sizes.items()))


def _second_import_and_export(
    workdir: Path,
    rows: int,
    importer: ServiceProcess,
    bootstrap: str,
    pids: dict[str, int],
    ceiling: float,
) -> None:
    """The same people at other companies (every row updates a contact), then an export."""
    update_path = workdir / "contacts-moved.csv"
    generate_csv(update_path, rows, company_shift=1)
    idle = idle_cpu_per_second(pids)
    with BacklogWatch(workdir / "data" / "contacts.sqlite3") as second_backlog:
        second = asyncio.run(
            end_to_end(
                update_path,
                rows,
                importer.url,
                bootstrap=bootstrap,
                pids=pids,
                on_duplicate="update",
            )
        )
    update_rate, update_job = second.rows_per_second, second.job
    print(
        f"end-to-end re-import with on_duplicate=update: {update_rate:,.0f} rows/s  "
        f"(updated {update_job['updated']:,}, skipped {update_job['skipped']:,}, "
        f"failed {update_job['failed']:,}); ratio to ceiling: {update_rate / ceiling:.3f}"
    )
    print(
        f"  every event consumed by the timeline and the audit log after "
        f"{second.fanned_out_seconds:.1f} s: {rows / second.fanned_out_seconds:,.0f} rows/s"
    )
    print(cpu_line(second, idle))
    print(second_backlog.line())
    assert importer.process is not None
    baseline = reset_peak_rss(importer.process.pid)
    exported, megabytes = asyncio.run(export_all(importer.url))
    growth = _rss_kib(importer.process.pid, "VmHWM") - baseline
    print(
        f"export of {exported:,} rows ({megabytes:.1f} MB of CSV): importer peak RSS grew by "
        f"{growth / 1024:.1f} MB (ratio to file size: {growth / 1024 / max(megabytes, 1e-9):.3f})",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Generate the file, measure the ceiling, run the import end to end, print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--first-only",
        action="store_true",
        help="measure the first import alone (no re-import with updates, no export): at 1M rows "
        "the whole run takes about three times as long",
    )
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    csv_path = workdir / "contacts.csv"
    print(f"generating {args.rows:,} rows in {csv_path} ...", flush=True)
    generate_csv(csv_path, args.rows)
    print(f"file size {csv_path.stat().st_size / 1e6:.1f} MB", flush=True)

    ceiling = ceiling_rows_per_second(csv_path, workdir)
    print(f"ceiling (csv -> SQLite executemany, same run): {ceiling:,.0f} rows/s", flush=True)

    broker = EmbeddedBroker()
    broker.start()
    asyncio.run(ensure_topics(broker.bootstrap_servers))
    ports = {name: free_port() for name, _ in SERVICES}
    log = (workdir / "platform.log").open("w")
    # A shared machine may be busy: a slow start is no reason to lose the run.
    platform = Platform(
        broker.bootstrap_servers, workdir / "data", ports, log=log, ready_timeout=120.0
    )
    try:
        platform.start()
        importer = platform.services["importer"]
        pids = {name: s.process.pid for name, s in platform.services.items() if s.process}
        pids["broker"] = broker.pid
        bootstrap = broker.bootstrap_servers
        idle = idle_cpu_per_second(pids)
        contacts_store = workdir / "data" / "contacts.sqlite3"
        first_watch = BacklogWatch(contacts_store)
        with first_watch as first_backlog:
            first = asyncio.run(
                end_to_end(csv_path, args.rows, importer.url, bootstrap=bootstrap, pids=pids)
            )
            drained = first_watch.wait_for_empty_queue(REMATCH_WAIT_SECONDS)
        rate, job = first.rows_per_second, first.job
        peaks = {name: _rss_kib(pid, "VmHWM") for name, pid in pids.items()}
        print(
            f"end-to-end import (upload -> importer -> Kafka -> contacts -> results): "
            f"{rate:,.0f} rows/s  ({args.rows / rate:.1f} s for {args.rows:,} rows; "
            f"created {job['created']:,}, failed {job['failed']:,})"
        )
        print(f"ratio end-to-end / ceiling: {rate / ceiling:.3f}")
        print(
            f"  every event consumed by the timeline and the audit log after "
            f"{first.fanned_out_seconds:.1f} s: {args.rows / first.fanned_out_seconds:,.0f} rows/s"
        )
        print(cpu_line(first, idle))
        print(first_backlog.line())
        print(
            "  every imported contact matched for duplicates "
            + (
                f"{drained:.1f} s after the job ended"
                if drained is not None
                else f"NOT within {REMATCH_WAIT_SECONDS:.0f} s after the job ended"
            )
        )
        print(
            "  peak RSS per process (goal for each service: at most 512 MB): "
            + ", ".join(f"{name} {kib / 1024:.0f} MB" for name, kib in peaks.items())
        )
        print(f"  stores after it: {_store_sizes(workdir / 'data')}")
        idle_parts = ", ".join(f"{name} {used * 100:.0f}%" for name, used in idle.items())
        print(f"  idle CPU per process before the import (share of a core): {idle_parts}")
        print(load_average(), flush=True)
        if not args.first_only:
            _second_import_and_export(workdir, args.rows, importer, bootstrap, pids, ceiling)
    finally:
        platform.stop()
        broker.stop()
        log.close()
    print(f"(platform log: {workdir / 'platform.log'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
