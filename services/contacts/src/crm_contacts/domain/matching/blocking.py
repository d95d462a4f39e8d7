"""The full scan's pure core: block every contact, pair within blocks, score the pairs.

Blocks are the contacts' stored `match_keys`, the keys the indexed look-up uses (every email,
every phone, external ids, the exact and phonetic name blocks), so the scan and the create-time
check agree. A large name
block is split by company (see `comparison_groups`) and its parts filtered by name similarity
(one rapidfuzz C loop per member), which is what lets a scan of a million contacts finish in
two minutes on Python; a group larger than `MAX_BLOCK` (a shared switchboard phone) is skipped
and counted.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from crm_contacts.domain.matching.names import NAME_KEYS
from crm_contacts.domain.matching.profile import MatchProfile
from crm_contacts.domain.matching.scoring import SIMILAR_NAME, Match, score_pair

MAX_BLOCK = 5000
# A name block with more members than this is split by company or work domain: a name shared
# by many is a common name, and its holders at different companies are strangers. At 200,000
# realistic contacts, 32 here gave 170k groups (almost all strangers with one name), 8 gave 90k,
# with the same recall of known duplicates.
SMALL_BLOCK = 8
_NAME_CUTOFF = SIMILAR_NAME * 100
# How much of the folded company name splits a large name block (a little typo-tolerant).
_COMPANY_PREFIX = 4


def blocks(profiles: Sequence[MatchProfile]) -> dict[str, list[int]]:
    """Key -> indexes of the contacts holding it (only keys held by two or more)."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, profile in enumerate(profiles):
        for key in profile.keys:
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
    """The pairs of a name block whose names may be similar, each member in one C loop.

    A member whose first word is an initial ("J Smith") is paired with every other: initials
    agree below the token cutoff. Shared identifiers need no pair here: their blocks hold them.
    """
    names = [profiles[i].name_key for i in members]
    initial = [_has_initial(profiles[i]) for i in members]
    for x, name in enumerate(names[:-1]):
        later = names[x + 1 :]
        if initial[x]:
            hits: Iterable[int] = range(len(later))
        else:
            hits = (
                y
                for _, _, y in process.extract_iter(
                    name, later, scorer=fuzz.token_sort_ratio, score_cutoff=_NAME_CUTOFF
                )
            )
            extra = [y for y, flag in enumerate(initial[x + 1 :]) if flag]
            if extra:
                hits = sorted({*hits, *extra})
        for y in hits:
            yield members[x], members[x + 1 + y]


def _has_initial(profile: MatchProfile) -> bool:
    return len(profile.tokens) > 1 and len(profile.tokens[0]) == 1


def _all_pairs(members: list[int]) -> Iterator[tuple[int, int]]:
    for x, first in enumerate(members):
        for second in members[x + 1 :]:
            yield first, second


def _corroborating_key(profile: MatchProfile) -> str:
    """What a common name's holders must also share to be compared: company, else work domain."""
    if profile.company:
        return "c:" + profile.company[:_COMPANY_PREFIX]
    return "d:" + min(profile.domains) if profile.domains else ""


def comparison_groups(
    key: str, members: list[int], profiles: Sequence[MatchProfile]
) -> Iterator[tuple[list[int], bool]]:
    """The groups of a block whose members are compared, and whether by name first.

    A small block is one group, compared pair by pair. A large name block (a common name, a
    common sound) is split by a second key, the company (or work-email domain): strangers who
    share only a common name are not compared, which keeps the work linear in the block size
    and the pairs to the ones a person would look at. Each part is filtered by name similarity
    first; a part larger than `MAX_BLOCK` is skipped.
    """
    name_block = key.startswith(NAME_KEYS)
    if not name_block or len(members) == 2:
        yield members, False
        return
    if len(members) <= SMALL_BLOCK:
        yield members, True
        return
    parts: dict[str, list[int]] = defaultdict(list)
    for i in members:
        parts[_corroborating_key(profiles[i])].append(i)
    for part in parts.values():
        if len(part) > 1:
            yield part, True


def group_pairs(
    members: list[int], by_name: bool, profiles: Sequence[MatchProfile]
) -> Iterator[tuple[int, int]]:
    """The pairs of one comparison group worth scoring."""
    if by_name:
        yield from _name_filtered(members, profiles)
    else:
        yield from _all_pairs(members)


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
    for key, block in by_key.items():
        stats.blocks += 1
        for members, by_name in comparison_groups(key, block, profiles):
            if len(members) > MAX_BLOCK:
                stats.skipped_blocks += 1
                continue
            stats.candidate_pairs += len(members) * (len(members) - 1) // 2
            for a, b in group_pairs(members, by_name, profiles):
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
