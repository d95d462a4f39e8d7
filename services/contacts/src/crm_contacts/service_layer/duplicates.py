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
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crm_contacts.adapters.duplicates import (
    MATCH_VIEW,
    CandidateFinder,
    PairRepository,
    dequeue,
    queued,
)
from crm_contacts.domain.contact import is_live
from crm_contacts.domain.matching import Match, MatchProfile, match_profile, rank
from crm_contacts.domain.matching.cursor import decode_pair_cursor, encode_pair_cursor
from crm_contacts.domain.matching.names import (
    EXACT_NAME_KEY,
    FIRST_INITIAL_KEY,
    LAST_INITIAL_KEY,
    NAME_KEYS,
    SOUND_KEY,
)
from crm_contacts.domain.matching.pairs import (
    dismissed_pair,
    new_pair,
    pair_id,
    rescored_pair,
)
from crm_contacts.domain.matching.scoring import SIMILAR_NAME_REASON, similar_names
from crm_contacts.service_layer.handlers import visible
from crm_shared.clock import now_iso
from crm_shared.problems import NotFound
from crm_shared.storage import Cursor, DocumentStore, Session

# Candidates read per look-up, strongest blocks first. Every holder of a shared email, phone or
# external id is read (up to IDENTIFIER_CANDIDATES: a switchboard number is cut there); then the
# exact name's holders and the sound's, at most NAME_CANDIDATES of them together. A common
# name's blocks hold hundreds of strangers at other companies that the matching rule leaves out
# anyway: reading all of them is what made the create-time check slow with a million stored.
IDENTIFIER_CANDIDATES = 200
NAME_CANDIDATES = 50
# The weak name blocks (last name + first initial, first name + last initial) are read only
# when the strong ones found no similar name: at a million contacts "f:john s" holds every John
# S-something, hundreds. Then only the names of at most WEAK_HOLDERS of them are read, compared
# in one rapidfuzz loop, and just the similar ones read whole enough to be scored.
WEAK_HOLDERS = 300
_STRONG_NAME_KEYS = (EXACT_NAME_KEY, SOUND_KEY)
_WEAK_NAME_KEYS = (LAST_INITIAL_KEY, FIRST_INITIAL_KEY)
_NAME_ONLY = ("name",)
# Queue entries handled per round of the re-match: the contacts are matched one short read each,
# then the round's pairs are written in one transaction (a few thousand rows at most).
REMATCH_BATCH = 50


def matchable(doc: Mapping[str, Any] | None) -> bool:
    """Live and not merged away: the only contacts matching sees."""
    return doc is not None and is_live(doc) and doc.get("merged_into") is None


async def match_list(session: Session, tenant: str, doc: Mapping[str, Any]) -> list[Match]:
    """The contact's likely duplicates among the live ones, best first (no document read whole)."""
    profile = match_profile(doc)
    finder = CandidateFinder(session, tenant)
    strong = await _strong_candidates(finder, profile.keys)
    matches = rank(profile, (match_profile(view) for view in strong.values()))
    if any(SIMILAR_NAME_REASON in m.reasons for m in matches):
        return matches
    weak = await _weak_candidates(finder, profile, seen=strong.keys())
    if not weak:
        return matches
    matches += rank(profile, (match_profile(view) for view in weak))
    return sorted(matches, key=lambda m: (-m.score, m.contact_id))


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


async def _strong_candidates(finder: CandidateFinder, keys: Sequence[str]) -> dict[str, Any]:
    """Id -> MATCH_VIEW of the holders of the identifiers, then of the exact name and its sound.

    One query per block, each with its own limit, so a common name costs NAME_CANDIDATES rows.
    The exact name's holders hold its sound too: the sound's read allows for them coming back.
    """
    identifiers = [k for k in keys if not k.startswith(NAME_KEYS)]
    found: dict[str, Any] = {}
    if identifiers:
        views = await finder.by_keys(identifiers, limit=IDENTIFIER_CANDIDATES, fields=MATCH_VIEW)
        found.update((view["id"], view) for view in views)
    by_name: set[str] = set()
    for prefix in _STRONG_NAME_KEYS:
        block = [k for k in keys if k.startswith(prefix)]
        room = NAME_CANDIDATES - len(by_name)
        if not block or room <= 0:
            continue
        views = await finder.by_keys(block, limit=room + len(by_name), fields=MATCH_VIEW)
        for view in views:
            if len(by_name) < NAME_CANDIDATES and view["id"] not in by_name:
                by_name.add(view["id"])
                found.setdefault(view["id"], view)
    return found


async def _weak_candidates(
    finder: CandidateFinder, profile: MatchProfile, *, seen: Collection[str]
) -> list[dict[str, Any]]:
    """MATCH_VIEW of the weak blocks' holders whose names are similar (see WEAK_HOLDERS)."""
    block = [k for k in profile.keys if k.startswith(_WEAK_NAME_KEYS)]
    if not block:
        return []
    holders = await finder.by_keys(block, limit=WEAK_HOLDERS, fields=_NAME_ONLY)
    unseen = [h for h in holders if h["id"] not in seen]
    similar = similar_names(profile, [str(h.get("name") or "") for h in unseen])
    if not similar:
        return []
    return await finder.live_views([unseen[at]["id"] for at in similar[:NAME_CANDIDATES]])


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


async def refresh_queued(store: DocumentStore, *, batch: int = REMATCH_BATCH) -> int:
    """Recompute the pairs of the oldest queued contacts; how many queue entries were handled.

    Matching is reads and CPU, writing the pairs is one short transaction: each contact is
    matched in a read of its own, yielding the event loop between contacts, and only then are
    the round's pairs written (in bulk) and its entries dropped. So a long queue (an import of
    few distinct names) never holds the writer or the reader for more than one step, and the
    outbox relay, consumers and HTTP keep flowing beside it. A contact changed meanwhile was
    queued again by that change (a new entry, not dropped here): it is matched again later.
    """
    async with store.reader() as session:
        entries = await queued(session, limit=batch)
    if not entries:
        return 0
    by_tenant: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        by_tenant[entry["contact_tenant"]].append(entry["contact_id"])
    fresh = {
        tenant: await _rematched(store, tenant, list(dict.fromkeys(ids)))
        for tenant, ids in by_tenant.items()
    }
    now = now_iso()
    async with store.transaction() as session:
        for tenant, matches in fresh.items():
            await _write_pairs(PairRepository(session, tenant), matches, now=now)
        await dequeue(session, [e["id"] for e in entries])
    return len(entries)


async def _rematched(
    store: DocumentStore, tenant: str, contact_ids: list[str]
) -> dict[str, list[Match]]:
    """Each contact's matches now (none for one that left the live set), one short read each."""
    async with store.reader() as session:
        docs = await CandidateFinder(session, tenant).by_ids(contact_ids)
    found: dict[str, list[Match]] = {}
    for contact_id in contact_ids:
        doc = docs.get(contact_id)
        found[contact_id] = []
        if matchable(doc):
            assert doc is not None
            async with store.reader() as session:
                found[contact_id] = await match_list(session, tenant, doc)
        # Matching is CPU: the relay, the consumers and HTTP get the loop between contacts.
        await asyncio.sleep(0)
    return found


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
