"""Rewrite-job benchmark: a tag rename over N contacts (default 1,000,000) as a background job,
with single-contact writes going on meanwhile, next to a same-run ceiling.

Loads N contacts that all carry the tag "Member" into the contacts service's SQLite store, then
renames the tag through the service layer the HTTP route uses (`PATCH /v1/tags/{id}`): the
definition commits, and the job rewrites the contacts in bounded transactions (each batch
sized to hold the writer about `CONTACTS_JOB_BATCH_SECONDS`, at most 500 contacts; each contact
re-read, written at the version read with a new one, its ContactUpdated and state record in the
outbox, the job's cursor and progress). While it runs, a writer updates one random contact at a
time (as `PATCH /v1/contacts/{id}` does) and records each write's latency; the same writer runs
for a while before the job too, so the p95 during the job sits next to an idle p95 from the same
run. The ceiling is a bare read-modify-write of the same rows in hand-written SQL
(bench/tag_ceiling.py: the tag renamed in Python, `executemany` UPDATE in transactions of 500,
the changed `tags_norm` side-table entries written as the adapter writes them), with no events
and no versions checked.

The loaded store can be kept and reused (`--store PATH`, `make bench-jobs-store` then `make
bench-jobs JOBS_STORE=PATH`): the job rewrites it, so each run works on a fresh copy of it.
The job runs on the store wrapped as the service wraps it (`ContactStateStore`).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.kept_store import stored_ids
from bench.stats import median_p95_ms
from bench.tag_ceiling import rewrite_tags
from crm_contacts.adapters.bulk import BULK_SPECS
from crm_contacts.adapters.contact_state import ContactStateStore
from crm_contacts.adapters.repository import COLLECTION_SPECS, ContactRepository
from crm_contacts.adapters.rewrite_jobs import JOB_SPECS
from crm_contacts.domain.commands import UpdateContact
from crm_contacts.domain.contact import new_contact
from crm_contacts.domain.tags import replace_tag
from crm_contacts.service_layer import tags
from crm_contacts.service_layer.handlers import update_contact
from crm_contacts.service_layer.rewrite_jobs import get_job, run_job
from crm_contacts.settings import ContactsSettings
from crm_shared.clock import now_iso
from crm_shared.ids import new_id
from crm_shared.storage import Contains, DocumentStore
from crm_shared.storage.sqlite import SqliteStore

TENANT = "bench"
BATCH = ContactsSettings().contacts_job_batch_size
LOAD_BATCH = 20_000
SPECS = (*COLLECTION_SPECS, *BULK_SPECS, *JOB_SPECS)
# The concurrent writer: one write, then this pause (about 50 writes/s when nothing waits).
WRITE_PAUSE = 0.02
IDLE_WRITES_SECONDS = 5.0


def _docs(args: tuple[int, int]) -> list[dict[str, Any]]:
    start, size = args
    now = now_iso()
    return [
        dict(
            new_contact(
                contact_id=new_id(),
                tenant=TENANT,
                profile={
                    "name": f"Person {n}",
                    "email": f"person{n}@example.com",
                    "company": f"Company {n % 5000}",
                    "tags": ["Member", "source:import", "imported"],
                },
                source="import",
                now=now,
            )
        )
        for n in range(start, start + size)
    ]


async def load(path: Path, count: int) -> tuple[list[str], float]:
    """Store `count` contacts carrying "Member"; their ids and the seconds it took (indexes too)."""
    started = time.perf_counter()
    store = SqliteStore(path)
    # Without indexes (built once at the end), but with every other declaration (the fields the
    # store derives itself are never stored), so the loaded store is in the service's layout.
    await store.start(tuple(dataclasses.replace(spec, indexes=()) for spec in SPECS))
    ids: list[str] = []
    jobs = [(at, min(LOAD_BATCH, count - at)) for at in range(0, count, LOAD_BATCH)]
    with multiprocessing.get_context("fork").Pool(max(1, (os.cpu_count() or 2) - 1)) as pool:
        for docs in pool.imap(_docs, jobs):
            async with store.transaction() as session:
                await ContactRepository(session, TENANT).add_many(docs)
            ids.extend(doc["id"] for doc in docs)
    await store.close()
    store = SqliteStore(path)
    await store.start(SPECS)  # builds the service's indexes
    await store.close()
    return ids, time.perf_counter() - started


class Writer:
    """Single-contact updates, one after another, each timed; failures counted."""

    def __init__(self, store: DocumentStore, ids: list[str], settings: ContactsSettings) -> None:
        self._store, self._ids, self._settings = store, ids, settings
        self.samples: list[float] = []
        self.failures = 0
        self._random = random.Random(7)

    async def write_one(self) -> None:
        """Update one random contact's company, as PATCH /v1/contacts/{id} does."""
        contact_id = self._random.choice(self._ids)
        company = f"Written {self._random.randrange(10**9)}"
        started = time.perf_counter()
        try:
            await update_contact(
                self._store,
                UpdateContact(contact_id=contact_id, fields={"company": company}),
                tenant=TENANT,
                actor="key:bench",
                settings=self._settings,
            )
        except Exception:
            self.failures += 1
            return
        self.samples.append(time.perf_counter() - started)

    async def run_for(self, seconds: float) -> None:
        """Write until `seconds` passed."""
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            await self.write_one()
            await asyncio.sleep(WRITE_PAUSE)

    async def run_until(self, done: asyncio.Event) -> None:
        """Write until `done` is set."""
        while not done.is_set():
            await self.write_one()
            await asyncio.sleep(WRITE_PAUSE)


PROGRESS_EVERY = 10.0


async def _progress(store: DocumentStore, job_id: str, done: asyncio.Event) -> None:
    """The job's progress as `GET /v1/jobs/{id}` reports it, every PROGRESS_EVERY seconds."""
    started = time.perf_counter()
    while not done.is_set():
        await asyncio.sleep(PROGRESS_EVERY)
        job = await get_job(store, job_id, tenant=TENANT)
        elapsed = time.perf_counter() - started
        print(
            f"  job {job['status']}: {job['done']:,} of {job['total'] or 0:,} contacts "
            f"({job['changed']:,} changed) after {elapsed:.0f} s, "
            f"{job['done'] / elapsed:,.0f}/s ({_load_average()})",
            flush=True,
        )


async def service_run(path: Path, ids: list[str]) -> dict[str, Any]:
    """The rename as a job with the writer going; the job's figures and the writes' latencies."""
    store = ContactStateStore(SqliteStore(path))
    await store.start(SPECS)
    settings = ContactsSettings()
    try:
        tag = await tags.create_tag(store, tenant=TENANT, name="Member", group=None, color=None)
        idle = Writer(store, ids, settings)
        await idle.run_for(IDLE_WRITES_SECONDS)
        during = Writer(store, ids, settings)
        done = asyncio.Event()
        started = time.perf_counter()
        _, job = await tags.update_tag(
            store, tag["id"], {"name": "Members"}, tenant=TENANT, actor="key:bench"
        )
        assert job is not None
        writer = asyncio.create_task(during.run_until(done))
        progress = asyncio.create_task(_progress(store, job["id"], done))
        await run_job(
            store,
            job["id"],
            TENANT,
            batch_size=settings.contacts_job_batch_size,
            batch_seconds=settings.contacts_job_batch_seconds or None,
        )
        elapsed = time.perf_counter() - started
        done.set()
        await writer
        progress.cancel()
        final = await get_job(store, job["id"], tenant=TENANT)
        assert final["status"] == "completed", final
        assert final["changed"] == len(ids), f"{final['changed']} of {len(ids)} renamed"
        async with store.reader() as session:
            left = await session.count(
                "contacts", tenant=TENANT, where=(Contains("tags_norm", "member"),)
            )
        assert left == 0, f"{left} contacts still carry the old name"
        return {"seconds": elapsed, "job": final, "idle": idle, "during": during}
    finally:
        await store.close()


def ceiling_run(path: Path) -> tuple[float, int]:
    """Seconds for a bare SQL read-modify-write renaming the tag back on the same rows."""
    return rewrite_tags(
        path,
        tenant=TENANT,
        batch=BATCH,
        change=lambda held: replace_tag(held, "Members", "Member again"),
    )


def _load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def _batches(budget: float) -> str:
    return f"up to {BATCH:,} sized to {budget * 1000:.0f} ms" if budget else f"{BATCH:,}"


def _copy_store(kept: Path, path: Path) -> float:
    """Copy a kept store (and its WAL, if any) to `path`; the seconds it took."""
    started = time.perf_counter()
    for suffix in ("", "-wal"):
        if Path(f"{kept}{suffix}").exists():
            shutil.copyfile(f"{kept}{suffix}", f"{path}{suffix}")
    return time.perf_counter() - started


def _prepared(args: argparse.Namespace, path: Path) -> list[str] | None:
    """Load the contacts, or copy a kept store; their ids (None after --load-only)."""
    kept: Path | None = args.store
    if kept is not None and kept.exists():
        ids = stored_ids(kept, TENANT)
        if len(ids) != args.contacts:
            sys.exit(f"{kept} holds {len(ids):,} contacts, not {args.contacts:,}")
        if args.load_only:
            print(f"{kept} already holds {len(ids):,} contacts")
            return None
        print(f"copied {kept} in {_copy_store(kept, path):.1f} s ({_load_average()})", flush=True)
        return ids
    target = kept or path
    print(f"loading {args.contacts:,} contacts into {target} ...", flush=True)
    ids, loaded = asyncio.run(load(target, args.contacts))
    print(f"loaded and indexed in {loaded:.1f} s ({_load_average()})", flush=True)
    if args.load_only:
        return None
    if kept is not None:
        print(f"copied to {path} in {_copy_store(kept, path):.1f} s", flush=True)
    return ids


def main(argv: list[str] | None = None) -> int:
    """Load N contacts (or copy a kept store), rename their tag as a job with writes going on,
    then the ceiling."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument(
        "--store",
        type=Path,
        help="a store file to keep: loaded on the first run with this --contacts, then each run "
        "works on a copy of it",
    )
    parser.add_argument("--load-only", action="store_true", help="load --store and stop")
    args = parser.parse_args(argv)
    if args.load_only and args.store is None:
        parser.error("--load-only needs --store")
    if args.store is not None:
        args.store.parent.mkdir(parents=True, exist_ok=True)
    # Next to a kept store: its copy is then a copy within one disk.
    workdir = Path(tempfile.mkdtemp(prefix="crm-jobs-bench-", dir=args.store and args.store.parent))
    path = workdir / "contacts.sqlite3"
    try:
        ids = _prepared(args, path)
        if ids is None:
            return 0
        result = asyncio.run(service_run(path, ids))
        ceiling, written = ceiling_run(path)
        assert written == args.contacts
        seconds, job = result["seconds"], result["job"]
        rate, c_rate = job["changed"] / seconds, written / ceiling
        idle_p50, idle_p95 = median_p95_ms(result["idle"].samples)
        during = result["during"]
        p50, p95 = median_p95_ms(during.samples) if during.samples else (0.0, 0.0)
        budget = ContactsSettings().contacts_job_batch_seconds
        print(
            f"tag rename job over {args.contacts:,} contacts: {seconds:.1f} s, "
            f"{rate:,.0f} contacts/s ({job['changed']:,} rewritten with their events and state "
            f"records, batches of {_batches(budget)}) | bare SQL "
            f"read-modify-write {c_rate:,.0f} rows/s ({ceiling:.1f} s) | job/ceiling "
            f"{rate / c_rate:.2f} | 1,000,000 at this rate: {1_000_000 / rate / 60:.1f} min"
        )
        print(
            f"single-contact writes during the job: {len(during.samples):,} succeeded, "
            f"{during.failures} failed, p50 {p50:.1f} ms, p95 {p95:.1f} ms, max "
            f"{max(during.samples, default=0) * 1000:.0f} ms | same writer before the job: "
            f"p50 {idle_p50:.1f} ms, p95 {idle_p95:.1f} ms ({_load_average()})"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
