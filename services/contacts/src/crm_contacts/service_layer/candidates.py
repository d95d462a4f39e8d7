"""Which stored contacts a contact is compared with: its blocks, read strongest first.

`strong_matches` and `weak_matches` are the one selection rule (shared identifiers, then the
exact name and its sound; the weak name blocks only when those find no similar name). They read
block holders through a `BlockSource`: `FinderSource` asks the store per look-up (the
create-time check), `RoundBlocks` (rematch_blocks.py) answers a whole re-match round from blocks
read in bulk. One rule behind both is what keeps a round's pairs those of one-by-one look-ups.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Protocol

from crm_contacts.adapters.duplicates import MATCH_VIEW, CandidateFinder
from crm_contacts.domain.matching import Match, MatchProfile, match_profile, rank
from crm_contacts.domain.matching.names import (
    EXACT_NAME_KEY,
    FIRST_INITIAL_KEY,
    LAST_INITIAL_KEY,
    NAME_KEYS,
    SOUND_KEY,
)
from crm_contacts.domain.matching.scoring import SIMILAR_NAME_REASON, similar_names

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
STRONG_NAME_KEYS = (EXACT_NAME_KEY, SOUND_KEY)
WEAK_NAME_KEYS = (LAST_INITIAL_KEY, FIRST_INITIAL_KEY)
_NAME_ONLY = ("name",)


class BlockSource(Protocol):
    """Live holders of match keys, in id order, as a look-up with these limits reads them."""

    async def holders(self, keys: Sequence[str], *, limit: int) -> list[dict[str, Any]]:
        """The first `limit` holders of any of `keys`, as MATCH_VIEW."""
        ...

    async def weak_holders(self, keys: Sequence[str], *, limit: int) -> list[dict[str, Any]]:
        """The first `limit` holders of any of `keys`, holding at least their name."""
        ...

    async def views(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The live contacts among `ids`, as MATCH_VIEW."""
        ...

    def profile(self, view: dict[str, Any]) -> MatchProfile:
        """The matching view of a holder (a source may keep it for the next look-up)."""
        ...


class FinderSource:
    """Each look-up's blocks read with their own indexed queries, in one session."""

    def __init__(self, finder: CandidateFinder) -> None:
        self._finder = finder

    async def holders(self, keys: Sequence[str], *, limit: int) -> list[dict[str, Any]]:
        return await self._finder.by_keys(keys, limit=limit, fields=MATCH_VIEW)

    async def weak_holders(self, keys: Sequence[str], *, limit: int) -> list[dict[str, Any]]:
        # Names only: the weak keys a holder has are its name's (names.weak_block_keys), which
        # the look-up compares anyway, so the store's candidates need no check of their keys.
        return await self._finder.by_keys(keys, limit=limit, fields=_NAME_ONLY, candidates=True)

    async def views(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        return await self._finder.live_views(ids)

    def profile(self, view: dict[str, Any]) -> MatchProfile:
        return match_profile(view)


async def strong_candidates(source: BlockSource, keys: Sequence[str]) -> dict[str, Any]:
    """Id -> MATCH_VIEW of the holders of the identifiers, then of the exact name and its sound.

    One read per block, each with its own limit, so a common name costs NAME_CANDIDATES rows.
    The exact name's holders hold its sound too: the sound's read allows for them coming back.
    """
    identifiers = [k for k in keys if not k.startswith(NAME_KEYS)]
    found: dict[str, Any] = {}
    if identifiers:
        views = await source.holders(identifiers, limit=IDENTIFIER_CANDIDATES)
        found.update((view["id"], view) for view in views)
    by_name: set[str] = set()
    for prefix in STRONG_NAME_KEYS:
        block = [k for k in keys if k.startswith(prefix)]
        room = NAME_CANDIDATES - len(by_name)
        if not block or room <= 0:
            continue
        views = await source.holders(block, limit=room + len(by_name))
        for view in views:
            if len(by_name) < NAME_CANDIDATES and view["id"] not in by_name:
                by_name.add(view["id"])
                found.setdefault(view["id"], view)
    return found


async def strong_matches(
    source: BlockSource, profile: MatchProfile
) -> tuple[list[Match], dict[str, Any]]:
    """The matches among the strong blocks' holders, best first, and those holders by id."""
    strong = await strong_candidates(source, profile.keys)
    return rank(profile, (source.profile(view) for view in strong.values())), strong


def needs_weak_blocks(matches: Sequence[Match]) -> bool:
    """Whether the weak name blocks are read: only when no similar name was found."""
    return not any(SIMILAR_NAME_REASON in m.reasons for m in matches)


async def similar_weak_holders(
    source: BlockSource, profile: MatchProfile, *, seen: Collection[str]
) -> list[str]:
    """Ids of the weak blocks' holders not in `seen` with similar names (see WEAK_HOLDERS)."""
    block = [k for k in profile.keys if k.startswith(WEAK_NAME_KEYS)]
    if not block:
        return []
    holders = await source.weak_holders(block, limit=WEAK_HOLDERS)
    unseen = [h for h in holders if h["id"] not in seen]
    similar = similar_names(profile, [str(h.get("name") or "") for h in unseen])
    return [unseen[at]["id"] for at in similar[:NAME_CANDIDATES]]


async def matches_among(
    source: BlockSource, profile: MatchProfile, ids: Sequence[str]
) -> list[Match]:
    """The matches among these holders (read as MATCH_VIEW), best first."""
    if not ids:
        return []
    views = await source.views(ids)
    return rank(profile, (source.profile(view) for view in views))


async def weak_matches(
    source: BlockSource, profile: MatchProfile, *, seen: Collection[str]
) -> list[Match]:
    """The matches among the weak blocks' holders with similar names (see WEAK_HOLDERS)."""
    return await matches_among(
        source, profile, await similar_weak_holders(source, profile, seen=seen)
    )


async def matches_from(source: BlockSource, profile: MatchProfile) -> list[Match]:
    """The contact's likely duplicates among the source's live holders, best first."""
    matches, strong = await strong_matches(source, profile)
    if not needs_weak_blocks(matches):
        return matches
    weak = await weak_matches(source, profile, seen=strong.keys())
    if not weak:
        return matches
    return sorted(matches + weak, key=lambda m: (-m.score, m.contact_id))
