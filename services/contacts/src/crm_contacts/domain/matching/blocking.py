"""The full scan's pure core: block every contact, pair within blocks, score the pairs.

Blocks are the same keys the indexed look-up uses (every email, every phone, external ids, the
exact and phonetic name blocks), so the scan and the create-time check agree. Pairs of a large
block are first filtered by name similarity (one rapidfuzz C loop per member), which is
what lets a scan of a million contacts finish in minutes on Python; a block larger than
`MAX_BLOCK` (a shared switchboard phone, a very common name) is skipped and counted.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from crm_contacts.domain.matching.names import block_keys
from crm_contacts.domain.matching.profile import EMAIL_KEY, EXTERNAL_KEY, PHONE_KEY, MatchProfile
from crm_contacts.domain.matching.scoring import SIMILAR_NAME, Match, score_pair

MAX_BLOCK = 5000
# Blocks up to this size are paired exhaustively; larger name blocks are filtered by name first.
SMALL_BLOCK = 32
_NAME_CUTOFF = SIMILAR_NAME * 100


def scan_keys(profile: MatchProfile) -> list[str]:
    """Every blocking key of a contact."""
    keys = [EMAIL_KEY + e for e in profile.emails]
    keys += [PHONE_KEY + p for p in profile.phones]
    keys += [EXTERNAL_KEY + x for x in profile.external_ids]
    keys += block_keys(profile.tokens)
    return keys


def blocks(profiles: Sequence[MatchProfile]) -> dict[str, list[int]]:
    """Key -> indexes of the contacts holding it (only keys held by two or more)."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, profile in enumerate(profiles):
        for key in scan_keys(profile):
            by_key[key].append(i)
    return {key: members for key, members in by_key.items() if len(members) > 1}


@dataclass
class ScanStats:
    """What a scan looked at."""

    contacts: int = 0
    blocks: int = 0
    skipped_blocks: int = 0
    candidate_pairs: int = 0
    scored_pairs: int = 0
    matches: int = 0
    block_seconds: float = 0.0
    pair_seconds: float = 0.0


def _name_filtered(
    members: list[int], profiles: Sequence[MatchProfile]
) -> Iterator[tuple[int, int]]:
    """The pairs of a block whose names are similar, each member compared in one C loop."""
    names = [profiles[i].name_key for i in members]
    for x, name in enumerate(names[:-1]):
        later = names[x + 1 :]
        for _, _, y in process.extract_iter(
            name, later, scorer=fuzz.token_sort_ratio, score_cutoff=_NAME_CUTOFF
        ):
            yield members[x], members[x + 1 + y]


def block_pairs(
    key: str, members: list[int], profiles: Sequence[MatchProfile]
) -> Iterator[tuple[int, int]]:
    """The pairs of one block worth scoring."""
    name_block = key.startswith(("n:", "s:", "l:"))
    if name_block and len(members) > SMALL_BLOCK:
        yield from _name_filtered(members, profiles)
        return
    for x, first in enumerate(members):
        for second in members[x + 1 :]:
            yield first, second


def scan_pairs(
    profiles: Sequence[MatchProfile], stats: ScanStats | None = None
) -> list[tuple[MatchProfile, Match]]:
    """Every matching pair among the contacts, each once: (one contact, its match)."""
    stats = stats if stats is not None else ScanStats()
    stats.contacts = len(profiles)
    seen: set[tuple[int, int]] = set()
    found: list[tuple[MatchProfile, Match]] = []
    started = time.perf_counter()
    by_key = blocks(profiles)
    blocked = time.perf_counter()
    for key, members in by_key.items():
        stats.blocks += 1
        if len(members) > MAX_BLOCK:
            stats.skipped_blocks += 1
            continue
        stats.candidate_pairs += len(members) * (len(members) - 1) // 2
        for a, b in block_pairs(key, members, profiles):
            pair = (a, b) if a < b else (b, a)
            if pair in seen:
                continue
            seen.add(pair)
            stats.scored_pairs += 1
            match = score_pair(profiles[pair[0]], profiles[pair[1]])
            if match is not None:
                found.append((profiles[pair[0]], match))
    stats.matches = len(found)
    stats.block_seconds = blocked - started
    stats.pair_seconds = time.perf_counter() - blocked
    return found
