"""Re-match benchmark: how fast the duplicate re-match queue drains after an import.

Loads N generated realistic contacts (bench/duplicates_data.py, 1% known duplicates) into the
contacts service's SQLite store, queues them all as one import's batches do (1,000 a
transaction, `queue_rematch` with the import job), then, in process:
(1) drains the queue with the service's own rounds (`refresh_queued`: bulk block reads,
    matching, the pairs written, the entries dropped) -> contacts/s and CPU us per contact;
(2) the matching alone two ways over the same contacts: the rounds' (`rematch_round`, blocks
    read in bulk per round) and one look-up per contact (`match_list` in its own read, what
    rounds did before) -> contacts/s each;
(3) the ceiling: reading the same rounds' blocks (every kind of key, each round's keys in one
    IN list per kind; the weak name blocks as names alone, as the rounds read them) with
    hand-written SQL and decoding the rows -> contacts/s, and the ratio of (1) to it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench.duplicates_bench import TENANT, load
from bench.duplicates_data import generate
from crm_contacts.adapters.duplicates import (
    DUPLICATE_PAIRS,
    MATCH_QUEUE,
    QUEUE_TENANT,
    queue_rematch,
)
from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_contacts.domain.derived_fields import STORE_DERIVED
from crm_contacts.domain.matching.names import NAME_KEYS
from crm_contacts.service_layer.candidates import STRONG_NAME_KEYS, WEAK_NAME_KEYS
from crm_contacts.service_layer.duplicates import (
    IMPORT_REMATCH_BATCH,
    match_list,
    refresh_queued,
    rematch_round,
)
from crm_shared.storage.derived import DERIVED_SQL
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_derived import DerivedFunction, derived_sql
from crm_shared.storage.sqlite_ids import stored_id
from crm_shared.storage.sqlite_keys import stored_keys
from crm_shared.storage.sqlite_multi import entry_hash
from crm_shared.storage.sqlite_tenants import TENANT_CODE_OF

IMPORT_BATCH = 1_000
JOB = "bench-import"
# What a round reads of each holder, by hand: the projection the service's MATCH_VIEW asks for,
# and the name alone for the weak name blocks (the service derives their keys from the name).
# {name}, {company}: the fields' paths in the store (`stored_keys`: short codes); {match_keys}:
# the SQL of the match keys, which the store derives (its function, as the service's reads).
_HOLDERS_OF = (
    "FROM c_contacts AS c NOT INDEXED "
    # Match keys name contacts by row key, as the service reads them (see duplicates_bench).
    f"WHERE c.tenant = {TENANT_CODE_OF} AND c.n IN (SELECT e_ref FROM mv_contacts WHERE e_key = "
    "(SELECT code FROM mvk_contacts WHERE tenant = ? AND path = ?) AND e_value IN ({marks}))"
)
BLOCKS_SQL = (
    "SELECT c.id, json_extract(c.doc, '{name}'), json_extract(c.doc, '{company}'), "
    "{match_keys} " + _HOLDERS_OF
)
WEAK_BLOCKS_SQL = "SELECT c.id, json_extract(c.doc, '{name}') " + _HOLDERS_OF
KEYS_SQL = "SELECT {own_keys} FROM c_contacts WHERE id IN ({marks})"


def _paths(db: sqlite3.Connection) -> dict[str, str]:
    """The fields' SQL, the derived match keys' function registered on `db`."""
    keys = stored_keys(db, "contacts")
    keys = dataclasses.replace(keys, derived=derived_sql("contacts", STORE_DERIVED, keys))
    function = DerivedFunction({"contacts": STORE_DERIVED})
    db.create_function(DERIVED_SQL, 3, function, deterministic=True)
    return {
        "name": keys.path("name"),
        "company": keys.path("company"),
        "match_keys": keys.value_sql("match_keys", doc="c.doc"),
        "own_keys": keys.value_sql("match_keys"),
    }


def _load_line(when: str) -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {when}: {one:.2f} {five:.2f} {fifteen:.2f}"


async def _queue_as_an_import(store: SqliteStore, ids: list[str]) -> None:
    for at in range(0, len(ids), IMPORT_BATCH):
        async with store.transaction() as session:
            await queue_rematch(
                session, TENANT, ids[at : at + IMPORT_BATCH], reason="imported", import_job=JOB
            )


async def measure_drain(path: Path, ids: list[str]) -> float:
    """(1) The queue drained by the service's rounds; returns contacts/s."""
    store = SqliteStore(path)
    await store.start(COLLECTION_SPECS)
    try:
        await _queue_as_an_import(store, ids)
        rounds = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        while await refresh_queued(store, import_quiet=0):
            rounds += 1
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        async with store.reader() as session:
            left = await session.count(MATCH_QUEUE, tenant=QUEUE_TENANT)
            pairs = await session.count(DUPLICATE_PAIRS, tenant=TENANT)
    finally:
        await store.close()
    rate = len(ids) / seconds
    print(
        f"(1) re-match drain of {len(ids):,} imported contacts: {rate:,.0f} contacts/s "
        f"({seconds:.1f} s, {rounds} rounds of {IMPORT_REMATCH_BATCH}, CPU "
        f"{cpu / len(ids) * 1e6:,.0f} us/contact, {pairs:,} pairs, {left} left queued) | "
        f"{_load_line('now')}",
        flush=True,
    )
    return rate


async def measure_matching(path: Path, ids: list[str], one_by_one: int) -> None:
    """(2) Matching alone: rounds with bulk block reads, and one look-up per contact."""
    store = SqliteStore(path)
    await store.start(COLLECTION_SPECS)
    try:
        started = time.perf_counter()
        for at in range(0, len(ids), IMPORT_REMATCH_BATCH):
            await rematch_round(store, TENANT, ids[at : at + IMPORT_REMATCH_BATCH])
        rounds_rate = len(ids) / (time.perf_counter() - started)
        sample = ids[:one_by_one]
        started = time.perf_counter()
        for contact_id in sample:
            async with store.reader() as session:
                doc = await session.get("contacts", tenant=TENANT, id=contact_id)
                assert doc is not None
                await match_list(session, TENANT, doc)
        single_rate = len(sample) / (time.perf_counter() - started)
    finally:
        await store.close()
    print(
        f"(2) matching only: rounds {rounds_rate:,.0f} contacts/s | one look-up per contact "
        f"{single_rate:,.0f} contacts/s (first {len(sample):,}) | rounds / one-by-one "
        f"{rounds_rate / single_rate:.2f}x | {_load_line('now')}",
        flush=True,
    )


def measure_ceiling(path: Path, ids: list[str]) -> float:
    """(3) The rounds' block reads as hand-written SQL; returns contacts/s."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    paths = _paths(db)
    rows = 0
    started = time.perf_counter()
    try:
        for at in range(0, len(ids), IMPORT_REMATCH_BATCH):
            chunk = ids[at : at + IMPORT_REMATCH_BATCH]
            marks = ", ".join("?" for _ in chunk)
            keys = {
                k
                for (raw,) in db.execute(
                    KEYS_SQL.format(marks=marks, **paths), [stored_id(i) for i in chunk]
                )
                for k in orjson.loads(raw)
            }
            kinds = [
                ({k for k in keys if not k.startswith(NAME_KEYS)}, BLOCKS_SQL),
                *(({k for k in keys if k.startswith(p)}, BLOCKS_SQL) for p in STRONG_NAME_KEYS),
                ({k for k in keys if k.startswith(WEAK_NAME_KEYS)}, WEAK_BLOCKS_SQL),
            ]
            for kind, query in kinds:
                values = sorted(kind)
                for start in range(0, len(values), 500):  # the service's IN lists
                    part = values[start : start + 500]
                    sql = query.format(marks=", ".join("?" for _ in part), **paths)
                    # Match keys are held hashed (sqlite_multi.py), the service's as here.
                    hashes = map(entry_hash, part)
                    for row in db.execute(sql, [TENANT, TENANT, "match_keys", *hashes]):
                        if len(row) > 3:
                            orjson.loads(row[3])
                        rows += 1
    finally:
        db.close()
    rate = len(ids) / (time.perf_counter() - started)
    print(
        f"(3) the same rounds' blocks read by hand-written SQL: {rate:,.0f} contacts/s "
        f"({rows:,} holder rows) | {_load_line('now')}",
        flush=True,
    )
    return rate


def main(argv: list[str] | None = None) -> int:
    """Load N contacts, queue them as an import, then drain and compare."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument(
        "--one-by-one", type=int, default=5_000, help="contacts matched one look-up each in (2)"
    )
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="crm-rematch-bench-"))
    path = workdir / "contacts.sqlite3"
    try:
        profiles, _ = generate(args.contacts)
        ids, _, _ = asyncio.run(load(path, profiles))
        print(f"loaded {len(ids):,} contacts | {_load_line('before measuring')}", flush=True)
        drain = asyncio.run(measure_drain(path, ids))
        asyncio.run(measure_matching(path, ids, args.one_by_one))
        ceiling = measure_ceiling(path, ids)
        print(f"ratio of (1) to (3): {drain / ceiling:.3f}", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
