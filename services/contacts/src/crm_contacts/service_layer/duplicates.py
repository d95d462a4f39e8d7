"""Duplicate look-ups and the kept-current candidate pairs (the groups `/v1/duplicates` lists).

Pairs are kept current by a queue, not per request: every write path that can change what a
contact matches queues its id in the same transaction (`queue_rematch`), and a background loop
(`refresh_queued`) recomputes those contacts' pairs. So a change is never lost (it is committed
with the contact), a million-row import pays one small insert per row instead of candidate
look-ups, and reads only read pairs. Listing still drops pairs whose contacts left the live set
meanwhile (deleted, erased, merged away), whatever path made them leave.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crm_contacts.adapters.duplicates import (
    CandidateFinder,
    PairRepository,
    dequeue,
    newest_of_import,
    queued,
    token_ms,
)
from crm_contacts.domain.contact import is_live
from crm_contacts.domain.matching import Match, match_profile
from crm_contacts.domain.matching.cursor import decode_pair_cursor, encode_pair_cursor
from crm_contacts.domain.matching.pairs import (
    dismissed_pair,
    new_pair,
    pair_id,
    rescored_pair,
)

# The look-up's limits, re-exported: the tests and the bench read them here.
from crm_contacts.service_layer.candidates import IDENTIFIER_CANDIDATES as IDENTIFIER_CANDIDATES
from crm_contacts.service_layer.candidates import NAME_CANDIDATES as NAME_CANDIDATES
from crm_contacts.service_layer.candidates import WEAK_HOLDERS as WEAK_HOLDERS
from crm_contacts.service_layer.candidates import (
    FinderSource,
    matches_among,
    matches_from,
    needs_weak_blocks,
    similar_weak_holders,
    strong_matches,
)
from crm_contacts.service_layer.handlers import visible
from crm_contacts.service_layer.rematch_blocks import RoundBlocks
from crm_shared.clock import now_iso
from crm_shared.problems import NotFound
from crm_shared.storage import Cursor, DocumentStore, Session

# Queue entries handled per round of the re-match: the round's blocks are read in bulk, its
# contacts matched from memory, then its pairs written in one transaction (a few thousand rows).
REMATCH_BATCH = 50
# An import's contacts are matched after it, in larger rounds: once its batches have stopped
# arriving for IMPORT_QUIET_SECONDS (a job's batches come seconds apart at most), or once its
# oldest entry has waited IMPORT_DEFER_LIMIT_SECONDS (a long import is then matched beside it,
# round by round, rather than never). Meanwhile the import's batches and the outbox relay have
# the CPU and the writer. Per contact, rounds of 100-200 drained faster than rounds of 500
# (bench-rematch at 20,000: IN lists of a thousand keys made each bulk read dearer per key).
IMPORT_REMATCH_BATCH = 200
IMPORT_QUIET_SECONDS = 5.0
IMPORT_DEFER_LIMIT_SECONDS = 600.0
_YIELD_EVERY = 10


def matchable(doc: Mapping[str, Any] | None) -> bool:
    """Live and not merged away: the only contacts matching sees."""
    return doc is not None and is_live(doc) and doc.get("merged_into") is None


async def match_list(session: Session, tenant: str, doc: Mapping[str, Any]) -> list[Match]:
    """The contact's likely duplicates among the live ones, best first (no document read whole)."""
    return await matches_from(FinderSource(CandidateFinder(session, tenant)), match_profile(doc))


async def find_matches(
    session: Session, tenant: str, doc: Mapping[str, Any]
) -> list[tuple[Match, dict[str, Any]]]:
    """The contact's likely duplicates among the live ones, best first, with their documents."""
    matches = await match_list(session, tenant, doc)
    if not matches:
        return []
    # The same snapshot or transaction: every match is still there, as it was matched.
    docs = await CandidateFinder(session, tenant).by_ids([m.contact_id for m in matches])
    return [(m, docs[m.contact_id]) for m in matches]


async def _dismissed_ids(session: Session, tenant: str, contact_id: str) -> set[str]:
    pairs = await PairRepository(session, tenant).of_contact(contact_id)
    return {c for p in pairs if p.get("dismissed") for c in p["contact_ids"] if c != contact_id}


async def contact_duplicates(
    store: DocumentStore, contact_id: str, *, tenant: str
) -> list[tuple[Match, dict[str, Any]]]:
    """A live contact's duplicates, best first, leaving out pairs dismissed as not duplicates."""
    async with store.reader() as session:
        finder = CandidateFinder(session, tenant)
        doc = visible((await finder.by_ids([contact_id])).get(contact_id), contact_id)
        if doc.get("merged_into"):
            raise NotFound(f"contact {contact_id} was merged into {doc['merged_into']}")
        found = await find_matches(session, tenant, doc)
        dismissed = await _dismissed_ids(session, tenant, contact_id)
    return [(m, c) for m, c in found if m.contact_id not in dismissed]


async def forget_pairs(session: Session, tenant: str, contact_id: str) -> None:
    """Drop the open pairs of a contact that can match nothing any more (erased), at once.

    What the queue would do for it, without a queue entry and a later look-up: an erasure of
    5,000 records in one request then leaves no 5,000 re-matches behind it.
    """
    pairs = PairRepository(session, tenant)
    await pairs.remove([p["id"] for p in await pairs.of_contact(contact_id) if not p["dismissed"]])


async def refresh_queued(
    store: DocumentStore,
    *,
    batch: int = REMATCH_BATCH,
    import_batch: int = IMPORT_REMATCH_BATCH,
    import_quiet: float = IMPORT_QUIET_SECONDS,
    defer_limit: float = IMPORT_DEFER_LIMIT_SECONDS,
) -> int:
    """Recompute the pairs of the oldest queued contacts; how many queue entries were handled.

    Entries queued by a change come first, `batch` a round; an import's entries only when none
    of those wait, `import_batch` a round, and only once the import is over (see
    IMPORT_QUIET_SECONDS). Matching is reads and CPU, writing the pairs is one short
    transaction: the round's blocks are read in a few bulk queries, its contacts matched from
    memory (yielding the event loop between contacts), and only then are the round's pairs
    written (in bulk) and its entries dropped. A contact changed meanwhile was queued again by
    that change (a new token, so its entry stays): it is matched again later.
    """
    async with store.reader() as session:
        entries = await queued(session, limit=batch, with_imports=False)
        if not entries:
            entries = await _imports_done(
                session,
                await queued(session, limit=import_batch),
                quiet=import_quiet,
                defer_limit=defer_limit,
            )
    if not entries:
        return 0
    by_tenant: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        by_tenant[entry["contact_tenant"]].append(entry["contact_id"])
    fresh = {tenant: await rematch_round(store, tenant, ids) for tenant, ids in by_tenant.items()}
    now = now_iso()
    async with store.transaction() as session:
        for tenant, matches in fresh.items():
            await _write_pairs(PairRepository(session, tenant), matches, now=now)
        await dequeue(session, entries)
    return len(entries)


async def _imports_done(
    session: Session, entries: list[dict[str, Any]], *, quiet: float, defer_limit: float
) -> list[dict[str, Any]]:
    """The entries whose import has stopped sending batches, or that waited long enough."""
    now_ms = time.time() * 1000
    oldest: dict[str, int] = {}
    for entry in entries:
        if job := entry.get("after_import"):
            oldest.setdefault(job, token_ms(entry["token"]))
    ready: set[str] = set()
    for job, first_ms in oldest.items():
        newest = await newest_of_import(session, job)
        last_ms = token_ms(newest["token"]) if newest else first_ms
        if now_ms - last_ms >= quiet * 1000 or now_ms - first_ms >= defer_limit * 1000:
            ready.add(job)
    return [e for e in entries if not e.get("after_import") or e["after_import"] in ready]


async def rematch_round(
    store: DocumentStore, tenant: str, contact_ids: Sequence[str]
) -> dict[str, list[Match]]:
    """Each contact's matches now (none for one that left the live set), its blocks read in bulk.

    The same matches each contact's own look-up finds (`match_list`): the same rule reads the
    blocks, only from what the round read at once.
    """
    blocks = RoundBlocks(store, tenant)
    profiles = await blocks.read_contacts(list(dict.fromkeys(contact_ids)))
    await blocks.read_strong(list(profiles.values()))
    found: dict[str, list[Match]] = {cid: [] for cid in contact_ids}
    # The ids of the strong blocks' holders each contact's look-up read (the weak one skips them).
    strong: dict[str, Collection[str]] = {}
    for at, (contact_id, profile) in enumerate(profiles.items()):
        if blocks.holds_alone(profile, weak=False):
            strong[contact_id] = (contact_id,)  # what its look-up would read: itself alone
            continue
        found[contact_id], holders = await strong_matches(blocks, profile)
        strong[contact_id] = holders.keys()
        await _yield_now_and_then(at)
    weak = [p for cid, p in profiles.items() if needs_weak_blocks(found[cid])]
    if weak:
        await blocks.read_weak(weak)
    similar: dict[str, list[str]] = {}
    for at, profile in enumerate(weak):
        if blocks.holds_alone(profile, weak=True):
            similar[profile.id] = []  # its similar names could only be its own
            continue
        similar[profile.id] = await similar_weak_holders(blocks, profile, seen=strong[profile.id])
        await _yield_now_and_then(at)
    # The few similar holders of the whole round, read whole enough to be scored at once.
    await blocks.read_views(i for ids in similar.values() for i in ids)
    for profile in weak:
        if more := await matches_among(blocks, profile, similar[profile.id]):
            found[profile.id] = sorted(
                found[profile.id] + more, key=lambda m: (-m.score, m.contact_id)
            )
    return found


async def _yield_now_and_then(at: int) -> None:
    # Matching is CPU: the relay, the consumers and HTTP get the loop every few contacts.
    if at % _YIELD_EVERY == _YIELD_EVERY - 1:
        await asyncio.sleep(0)


async def _write_pairs(
    pairs: PairRepository, fresh: Mapping[str, list[Match]], *, now: str
) -> None:
    """Make the re-matched contacts' stored pairs what they match now, in bulk.

    A pair stays while either of its contacts (when both were re-matched) still finds the
    other; an open pair neither finds any more is removed; dismissed ones stay dismissed.
    The stored pairs are read here, in the transaction: a dismissal made while the contacts
    were being matched is kept.
    """
    wanted: dict[str, tuple[str, Match]] = {}
    for contact_id, matches in fresh.items():
        for match in matches:
            wanted[pair_id(contact_id, match.contact_id)] = (contact_id, match)
    stored = await pairs.of_contacts(list(fresh))
    added: list[dict[str, Any]] = []
    for pid, (contact_id, match) in wanted.items():
        old = stored.get(pid)
        if old is None:
            added.append(
                new_pair(
                    tenant=pairs.tenant,
                    a=contact_id,
                    b=match.contact_id,
                    score=match.score,
                    reasons=match.reasons,
                    now=now,
                )
            )
        elif changed := rescored_pair(old, score=match.score, reasons=match.reasons, now=now):
            await pairs.put(changed, new=False)
    await pairs.insert_many(added)
    await pairs.remove([i for i, p in stored.items() if i not in wanted and not p["dismissed"]])


@dataclass(frozen=True)
class GroupPage:
    """One page of candidate groups, best first."""

    items: list[dict[str, Any]]
    next_cursor: str | None


async def list_groups(
    store: DocumentStore,
    *,
    tenant: str,
    min_score: float,
    limit: int,
    cursor: str | None,
    secret: bytes,
) -> GroupPage:
    """Open candidate groups of the tenant scoring at least `min_score`, best first."""
    after: Cursor | None = decode_pair_cursor(cursor, secret=secret) if cursor else None
    items: list[dict[str, Any]] = []
    last: dict[str, Any] | None = None
    more = True
    async with store.reader() as session:
        pairs = PairRepository(session, tenant)
        finder = CandidateFinder(session, tenant)
        while more and len(items) < limit:
            # One more than needed tells whether another page follows.
            page = await pairs.page(min_score=min_score, limit=limit + 1, after=after)
            more = len(page) > limit
            docs = await finder.by_ids([c for p in page for c in p["contact_ids"]])
            for pair in page:
                if len(items) == limit:
                    more = True
                    break
                last = pair
                if all(matchable(docs.get(c)) for c in pair["contact_ids"]):
                    items.append(pair)
            if last is not None:
                after = Cursor(value=last["score"], id=last["id"])
    next_cursor = None
    if more and last is not None:
        next_cursor = encode_pair_cursor(last["score"], last["id"], secret=secret)
    return GroupPage(items=items, next_cursor=next_cursor)


async def dismiss_group(
    store: DocumentStore, group_id: str, *, tenant: str, actor: str
) -> dict[str, Any]:
    """Mark a group as not duplicates; it stays dismissed until a new reason appears."""
    async with store.transaction() as session:
        pairs = PairRepository(session, tenant)
        pair = await pairs.get(group_id)
        if pair is None:
            raise NotFound(f"duplicate group {group_id} not found")
        if pair.get("dismissed"):
            return pair
        dismissed = dismissed_pair(pair, actor=actor, now=now_iso())
        await pairs.put(dismissed, new=False)
    return dismissed
