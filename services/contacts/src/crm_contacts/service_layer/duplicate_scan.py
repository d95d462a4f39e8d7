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
from dataclasses import dataclass, field
from typing import Any

from crm_contacts.adapters.duplicates import CONTACTS, DUPLICATE_PAIRS, MATCHABLE, PairRepository
from crm_contacts.domain.matching import Match, MatchProfile, match_profile
from crm_contacts.domain.matching.blocking import ScanStats, scan_pairs
from crm_contacts.domain.matching.pairs import new_pair, pair_id, rescored_pair
from crm_contacts.domain.matching.profile import MATCH_FIELDS
from crm_shared.clock import now_iso
from crm_shared.problems import Conflict
from crm_shared.storage import DocumentStore, scan

log = logging.getLogger(__name__)

_PAGE = 20_000
# What matching reads of a contact: the scan loads only these (a projection), not whole documents.
# The stored `match_keys` hold the normalized identifiers and the name blocks, so a profile is
# read off them instead of being rebuilt (the other fields serve a contact stored without them).
_PROFILE_FIELDS = tuple(sorted(MATCH_FIELDS | {"match_keys"}))
# Pairs written per transaction: big enough to batch, short enough not to hold the writer long.
_WRITE_CHUNK = 20_000
_PAIR_FIELDS = ("score", "reasons", "dismissed")


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
            current = await pairs.by_ids([i for i in chunk if i in stored])
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
    """One tenant's latest scan, as this process ran it."""

    status: str = "idle"
    started_at: str | None = None
    finished_at: str | None = None
    contacts: int | None = None
    groups: int | None = None


class DuplicateScans:
    """Full scans running in the background, at most one per tenant."""

    def __init__(self) -> None:
        self._jobs: dict[str, ScanJob] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def status(self, tenant: str) -> ScanJob:
        """The tenant's latest scan (idle if none ran in this process)."""
        return self._jobs.get(tenant, ScanJob())

    def start(self, store: DocumentStore, tenant: str) -> ScanJob:
        """Start a scan; 409 if one is already running for the tenant."""
        if self.status(tenant).status == "running":
            raise Conflict("a duplicate scan is already running for this tenant")
        job = ScanJob(status="running", started_at=now_iso())
        self._jobs[tenant] = job
        task = asyncio.create_task(self._run(store, tenant, job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _run(self, store: DocumentStore, tenant: str, job: ScanJob) -> None:
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

    async def stop(self) -> None:
        """Cancel running scans (at shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
