"""CPU per row of contacts applying import batches, in process: no broker, no other services.

The rows are the import bench's people (`import_bench.generate_csv`), sent as the importer sends
them (1,000-row `ImportContactsBatch` commands) to contacts' own handler over its SQLite store:
once as new contacts (`skip`), once again at other companies (`update`). Printed: CPU
microseconds per row (every thread of the process, SQLite's included) beside a same-run floor,
the CPU of parsing the same rows into the command models alone, and the CPU of contacts' own
work on them without a store (validating, planning and writing the events of the same batches
in memory): the rest is the storage adapter's, both threads. Also printed: how the applying CPU
splits between the event loop's thread and the others (SQLite's connection threads), and the
part of it the cyclic garbage collector took. The process collects garbage as the service's does
(`collect_for_throughput`). `--profile FILE` writes a cProfile of the apply passes; `--top N`
prints its top by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import csv
import gc
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.import_bench import generate_csv
from bench.processes import load_average
from crm_contacts.adapters.bulk import BULK_SPECS
from crm_contacts.adapters.campaigns import CAMPAIGN_SPECS
from crm_contacts.adapters.contact_state import ContactStateStore
from crm_contacts.adapters.forms import FORM_SPECS
from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_contacts.adapters.rewrite_jobs import JOB_SPECS
from crm_contacts.domain.contact_policy import ContactPolicy
from crm_contacts.domain.importing import ExistingContacts, existing_by_identifiers, plan_batch
from crm_contacts.domain.importing import prepare_rows as validate_rows
from crm_contacts.service_layer.import_events import per_contact_events_and_states
from crm_contacts.service_layer.imports import import_batch
from crm_contacts.settings import ContactsSettings
from crm_shared.clock import now_iso
from crm_shared.collection import collect_for_throughput
from crm_shared.events import ImportContactsBatch, ImportRow
from crm_shared.ids import new_id, new_ids
from crm_shared.runtime import open_store

BATCH_ROWS = 1_000
TENANT = "bench"


class CollectionClock:
    """CPU seconds the cyclic garbage collector takes while it is installed (`gc.callbacks`)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> CollectionClock:
        gc.callbacks.append(self._note)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._note)

    def _note(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.seconds += time.thread_time() - self._started


def read_batches(path: Path, *, job_id: str, policy: str) -> list[ImportContactsBatch]:
    """The file's rows as the importer's batch commands."""
    batches: list[ImportContactsBatch] = []
    rows: list[ImportRow] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for number, cells in enumerate(csv.DictReader(handle), start=1):
            row = {key: value for key, value in cells.items() if value}
            if "tags" in row:
                row["tags"] = row["tags"].split(";")
            rows.append(ImportRow(row_number=number, **row))
            if len(rows) == BATCH_ROWS:
                batches.append(_batch(job_id, len(batches) + 1, policy, rows))
                rows = []
    if rows:
        batches.append(_batch(job_id, len(batches) + 1, policy, rows))
    return batches


def _batch(job_id: str, batch_no: int, policy: str, rows: list[ImportRow]) -> ImportContactsBatch:
    return ImportContactsBatch(job_id=job_id, batch_no=batch_no, on_duplicate=policy, rows=rows)


async def apply_all(
    store: ContactStateStore, batches: list[ImportContactsBatch], settings: ContactsSettings
) -> dict[str, int]:
    """Apply every batch as the consumer does; the outcome counts."""
    counts: dict[str, int] = {}
    for batch in batches:
        results = await import_batch(
            store, batch, tenant=TENANT, settings=settings, event_id=new_id()
        )
        for result in results or ():
            counts[result["status"]] = counts.get(result["status"], 0) + 1
    return counts


def plan_in_memory(
    batches: list[ImportContactsBatch],
    settings: ContactsSettings,
    stored: list[list[dict[str, Any]]] | None,
) -> tuple[float, list[list[dict[str, Any]]]]:
    """CPU seconds of contacts' own work on the batches, with no store: validation, the plan
    (against `stored`, each batch's contacts as the create pass planned them) and the events;
    and the documents each batch's plan inserts."""
    inserted: list[list[dict[str, Any]]] = []
    cpu = time.process_time()
    for number, batch in enumerate(batches):
        prepared = validate_rows(
            batch.rows,
            region=settings.crm_default_region,
            suppression_key=settings.suppression_key,
        )
        # The documents a store would return (copies: the plan changes what it is given).
        found = [dict(doc) for doc in stored[number]] if stored else []
        existing = existing_by_identifiers(found) if stored else ExistingContacts()
        originals = existing.contacts()
        ids = iter(new_ids(len(prepared)))
        plan = plan_batch(
            prepared,
            tenant=TENANT,
            policy=batch.on_duplicate,
            existing=existing,
            suppressed=set(),
            now=now_iso(),
            new_id=ids.__next__,
            rules=ContactPolicy(),
            check_storable=False,  # as the service's first plan of a batch
        )
        per_contact_events_and_states(
            plan, originals, job_id=batch.job_id, tenant=TENANT, actor="import:bench"
        )
        inserted.append(plan.inserts)
    return time.process_time() - cpu, inserted


def own_work(created: Path, moved: Path, settings: ContactsSettings) -> list[float]:
    """CPU seconds of contacts' own work on each pass's batches, without a store; measured
    before the apply and let go, so the apply's heap (and garbage collection) stays its own."""
    create = read_batches(created, job_id=new_id(), policy="skip")
    update = read_batches(moved, job_id=new_id(), policy="update")
    first, inserted = plan_in_memory(create, settings, None)
    second, _ = plan_in_memory(update, settings, inserted)
    return [first, second]


async def run(rows: int, workdir: Path, profile: cProfile.Profile | None) -> list[str]:
    """Both passes; a printable line each."""
    created, moved = workdir / "contacts.csv", workdir / "contacts-moved.csv"
    generate_csv(created, rows)
    generate_csv(moved, rows, company_shift=1)
    settings = ContactsSettings(crm_data_dir=str(workdir))
    own = own_work(created, moved, settings)
    gc.collect()
    store = ContactStateStore(open_store(settings, service="contacts"))
    await store.start((*COLLECTION_SPECS, *CAMPAIGN_SPECS, *BULK_SPECS, *FORM_SPECS, *JOB_SPECS))
    lines: list[str] = []
    try:
        passes = (("create", created, "skip"), ("update", moved, "update"))
        for (label, path, policy), alone in zip(passes, own, strict=True):
            cpu = time.process_time()
            batches = read_batches(path, job_id=new_id(), policy=policy)
            floor = time.process_time() - cpu
            cpu, loop, wall = time.process_time(), time.thread_time(), time.perf_counter()
            if profile is not None:
                profile.enable()
            with CollectionClock() as collector:
                counts = await apply_all(store, batches, settings)
            if profile is not None:
                profile.disable()
            used, elapsed = time.process_time() - cpu, time.perf_counter() - wall
            loop = time.thread_time() - loop
            lines.append(
                f"{label}: {used / rows * 1e6:.0f} us CPU/row applying ({elapsed:.1f} s wall; "
                f"event loop {loop / rows * 1e6:.0f}, of which garbage collection "
                f"{collector.seconds / rows * 1e6:.0f}; other threads, SQLite's, "
                f"{(used - loop) / rows * 1e6:.0f}), "
                f"parsing rows into commands alone {floor / rows * 1e6:.0f} us/row; "
                f"contacts' own work without a store {alone / rows * 1e6:.0f} us/row; "
                f"outcomes {dict(sorted(counts.items()))}"
            )
    finally:
        await store.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    """Apply the generated batches and print CPU per row, with the load average."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the apply passes here")
    parser.add_argument("--top", type=int, default=0, help="print the profile's top N")
    args = parser.parse_args(argv)
    collect_for_throughput()  # as `python -m crm_contacts` does
    profile = cProfile.Profile() if args.profile or args.top else None
    print(load_average(), flush=True)
    with tempfile.TemporaryDirectory(prefix="crm-import-apply-") as folder:
        for line in asyncio.run(run(args.rows, Path(folder), profile)):
            print(line)
    print(load_average())
    if profile is not None:
        if args.profile:
            profile.dump_stats(args.profile)
        if args.top:
            pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
