"""The full duplicate scan of a tenant: recompute every candidate pair from scratch.

For existing data and after a matching-rule change. Reads the matching fields of the live
contacts page by page (a projection), blocks and scores them in memory
(domain/matching/blocking.py), then writes only what changed, in transactions of thousands of
pairs: new and rescored pairs, and deletes of open pairs no longer found. Dismissed pairs are
kept (and come back only with a new reason, as always).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from crm_contacts.adapters.duplicates import (
    CONTACTS,
    DUPLICATE_PAIRS,
    MATCHABLE,
    SCAN_STATUS,
    PairRepository,
)
from crm_contacts.domain.matching import Match, MatchProfile, match_profile
from crm_contacts.domain.matching.blocking import ScanStats, scan_pairs
from crm_contacts.domain.matching.pairs import new_pair, pair_id, rescored_pair
from crm_contacts.domain.matching.profile import MATCH_FIELDS
from crm_shared.clock import now_iso
from crm_shared.ids import new_id
from crm_shared.leased import LeaseLost, replica_id, run_holding
from crm_shared.problems import Conflict
from crm_shared.storage import DocumentStore, scan

log = logging.getLogger(__name__)

_PAGE = 20_000
# What matching reads of a contact: the scan loads only these (a projection), not whole documents.
# Not the `match_keys`: the store derives them (crm_shared.storage.derived), on SQLite through a
# SQL function per row (~20 us a contact in the 100k scan's load); `match_profile` derives them
# from these fields in Python for less (~2.3 us).
_PROFILE_FIELDS = tuple(sorted(MATCH_FIELDS))
# Pairs written per transaction: big enough to batch, short enough not to hold the writer long.
_WRITE_CHUNK = 20_000
_PAIR_FIELDS = ("score", "reasons", "dismissed")
_STATUS_ID = "full-scan"  # one status document per tenant


@dataclass
class ScanResult:
    """What a scan found and how long each phase took, in seconds."""

    stats: ScanStats = field(default_factory=ScanStats)
    load_seconds: float = 0.0
    score_seconds: float = 0.0
    write_seconds: float = 0.0
    written: int = 0


async def load_profiles(store: DocumentStore, tenant: str) -> list[MatchProfile]:
    """The matching view of every live contact of the tenant."""
    profiles: list[MatchProfile] = []
    async for doc in scan(
        store, CONTACTS, tenant=tenant, where=MATCHABLE, page_size=_PAGE, fields=_PROFILE_FIELDS
    ):
        profiles.append(match_profile(doc))
    return profiles


async def _stored_pairs(store: DocumentStore, tenant: str) -> dict[str, dict[str, Any]]:
    """Id -> score, reasons and dismissal of every stored pair (a projection, page by page)."""
    return {
        doc["id"]: doc
        async for doc in scan(
            store, DUPLICATE_PAIRS, tenant=tenant, page_size=_PAGE, fields=_PAIR_FIELDS
        )
    }


def _unchanged(stored: dict[str, Any] | None, match: Match) -> bool:
    return (
        stored is not None
        and not stored.get("dismissed")
        and stored.get("score") == match.score
        and list(stored.get("reasons") or ()) == list(match.reasons)
    )


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for at in range(0, len(values), _WRITE_CHUNK):
        yield values[at : at + _WRITE_CHUNK]


async def _write_pairs(
    store: DocumentStore, tenant: str, found: list[tuple[MatchProfile, Match]], now: str
) -> int:
    """Make the stored pairs what the scan found, in transactions of `_WRITE_CHUNK` pairs.

    Only what changed is written: a pair stored with the same score and reasons is left alone,
    open pairs the scan no longer finds are deleted, dismissed ones are kept (and rescored,
    coming back on new evidence). Returns how many pairs were written or deleted.
    """
    wanted = {pair_id(profile.id, match.contact_id): (profile, match) for profile, match in found}
    stored = await _stored_pairs(store, tenant)
    # In id order: pair ids are hashes, and sorted batches fill the id b-tree page by page.
    stale = sorted(i for i, doc in stored.items() if i not in wanted and not doc.get("dismissed"))
    changed = sorted(i for i, (_, match) in wanted.items() if not _unchanged(stored.get(i), match))
    for chunk in _chunks(stale):
        async with store.transaction() as session:
            await PairRepository(session, tenant).remove_open_ids(chunk)
    for chunk in _chunks(changed):
        async with store.transaction() as session:
            pairs = PairRepository(session, tenant)
            # Every id of the chunk, read in the write transaction: the contacts' re-match may
            # have stored one of these pairs since `stored` was read.
            current = await pairs.by_ids(chunk)
            batch: list[dict[str, Any]] = []
            for i in chunk:
                profile, match = wanted[i]
                old = current.get(i)
                if old is None:
                    batch.append(
                        new_pair(
                            tenant=tenant,
                            a=profile.id,
                            b=match.contact_id,
                            score=match.score,
                            reasons=match.reasons,
                            now=now,
                        )
                    )
                    continue
                rescored = rescored_pair(old, score=match.score, reasons=match.reasons, now=now)
                if rescored is not None:
                    await pairs.put(rescored, new=False)
            await pairs.insert_many(batch)
    return len(stale) + len(changed)


async def scan_tenant(store: DocumentStore, *, tenant: str) -> ScanResult:
    """Rebuild the tenant's open candidate pairs from all its live contacts."""
    result = ScanResult()
    started = time.perf_counter()
    profiles = await load_profiles(store, tenant)
    loaded = time.perf_counter()
    # Blocking and scoring are CPU work: off the event loop, so the API keeps answering.
    found = await asyncio.to_thread(scan_pairs, profiles, result.stats)
    scored = time.perf_counter()
    result.written = await _write_pairs(store, tenant, found, now_iso())
    done = time.perf_counter()
    result.load_seconds = loaded - started
    result.score_seconds = scored - loaded
    result.write_seconds = done - scored
    log.info(
        "duplicate scan of %d contacts: %d pairs (%.1fs)",
        result.stats.contacts,
        result.stats.matches,
        done - started,
    )
    return result


@dataclass
class ScanJob:
    """One tenant's latest full scan, whichever replica ran it."""

    status: str = "idle"
    started_at: str | None = None
    finished_at: str | None = None
    contacts: int | None = None
    groups: int | None = None


def _lease(tenant: str) -> str:
    return f"contacts-duplicate-scan:{tenant}"


async def _load(store: DocumentStore, tenant: str) -> ScanJob:
    async with store.reader() as session:
        doc = await session.get(SCAN_STATUS, tenant=tenant, id=_STATUS_ID)
    if doc is None:
        return ScanJob()
    return ScanJob(
        status=str(doc.get("status") or "idle"),
        started_at=doc.get("started_at"),
        finished_at=doc.get("finished_at"),
        contacts=doc.get("contacts"),
        groups=doc.get("groups"),
    )


async def _save(store: DocumentStore, tenant: str, job: ScanJob) -> None:
    doc = {"id": _STATUS_ID, "tenant": tenant, **asdict(job)}
    async with store.transaction() as session:
        if await session.get(SCAN_STATUS, tenant=tenant, id=_STATUS_ID) is None:
            await session.insert(SCAN_STATUS, doc)
        else:
            await session.replace(SCAN_STATUS, doc)


class DuplicateScans:
    """Full scans running in the background, at most one per tenant across every replica.

    A scan holds the store lease `contacts-duplicate-scan:<tenant>` while it runs (renewed, and
    the scan stopped should another replica ever take it), and its status is kept in the store,
    so any replica refuses a second scan with 409 and any replica answers the status.
    """

    def __init__(self, *, ttl: float = 10.0) -> None:
        # Per instance, not per process: two apps in one test process are two replicas.
        self._holder = f"{replica_id()}-{new_id()[-6:]}"
        self._ttl = ttl
        self._running: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def status(self, store: DocumentStore, tenant: str) -> ScanJob:
        """The tenant's latest scan (idle if none ran); a scan whose replica died has failed."""
        job = await _load(store, tenant)
        if job.status == "running" and await self._abandoned(store, tenant):
            # Read again: the holder records the outcome before it frees the lease, so a scan
            # that ended between the first read and the probe shows its outcome now.
            job = await _load(store, tenant)
            if job.status == "running":
                job.status = "failed"
        return job

    async def _abandoned(self, store: DocumentStore, tenant: str) -> bool:
        # Nobody renews the lease any more: taking it succeeds (and it is let go at once).
        probe = f"probe-{self._holder}"
        if await store.acquire_lease(_lease(tenant), holder=probe, ttl=self._ttl) is None:
            return False
        await store.release_lease(_lease(tenant), holder=probe)
        return True

    async def start(self, store: DocumentStore, tenant: str) -> ScanJob:
        """Start a scan; 409 if one is already running for the tenant on any replica."""
        if tenant in self._running or (
            await store.acquire_lease(_lease(tenant), holder=self._holder, ttl=self._ttl) is None
        ):
            raise Conflict("a duplicate scan is already running for this tenant")
        self._running.add(tenant)
        job = ScanJob(status="running", started_at=now_iso())
        try:
            await _save(store, tenant, job)
        except BaseException:
            self._running.discard(tenant)
            await store.release_lease(_lease(tenant), holder=self._holder)
            raise
        task = asyncio.create_task(self._run(store, tenant, job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _run(self, store: DocumentStore, tenant: str, job: ScanJob) -> None:
        try:
            await run_holding(
                store,
                _lease(tenant),
                holder=self._holder,
                ttl=self._ttl,
                work=self._scan(store, tenant, job),
            )
        except LeaseLost:
            # Another replica took the tenant's scan over: its status is its own to write.
            log.warning("duplicate scan stopped: its lease was lost")
        finally:
            self._running.discard(tenant)

    async def _scan(self, store: DocumentStore, tenant: str, job: ScanJob) -> None:
        """Scan and record the outcome, still holding the lease: a status read in between never
        finds the lease free and the scan "running"."""
        try:
            result = await scan_tenant(store, tenant=tenant)
        except Exception:
            log.exception("duplicate scan failed")
            job.status = "failed"
        else:
            job.status = "completed"
            job.contacts = result.stats.contacts
            job.groups = result.stats.matches
        job.finished_at = now_iso()
        await _save(store, tenant, job)

    async def stop(self) -> None:
        """Cancel running scans (at shutdown): their status reads failed once the lease is free."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
