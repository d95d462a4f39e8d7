"""Scoring a pair of contacts: a score in [0, 1] and the reasons a person would give.

Exact identifiers (external id, email, phone) score 0.95 and more. A similar name with a shared
company or work-email domain scores up to 0.94, so it never outranks a shared identifier. A
similar name alone is a match only under `name_alone_is_enough` (scoring 0.57-0.7, "possible").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from rapidfuzz.fuzz import token_sort_ratio

from crm_contacts.domain.matching.names import name_tokens
from crm_contacts.domain.matching.profile import MatchProfile

# Name similarity (0-1, order-free, after folding and nicknames) from which names are "similar".
SIMILAR_NAME = 0.85
# A name with nothing else is a duplicate only from here: accents, case, word order, nicknames,
# an initial, or one typo in a name of ten letters or more (see `name_alone_is_enough`).
VERY_CLOSE_NAME = 0.9
_IDENTIFIER_SCORES = {"same_external_id": 0.99, "same_email": 0.97, "same_phone": 0.95}
_FUZZY_CAP = 0.94
SIMILAR_NAME_REASON = "similar_name"


@dataclass(frozen=True, slots=True)
class Match:
    """A candidate duplicate of a contact: who, how likely, and why."""

    contact_id: str
    score: float
    reasons: tuple[str, ...]


def _initials_agree(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """'J Smith' and 'John Smith': same last word, and one first word is the other's initial."""
    if len(a) < 2 or len(b) < 2 or a[-1] != b[-1]:
        return False
    first_a, first_b = a[0], b[0]
    if len(first_a) == 1 or len(first_b) == 1:
        return first_a[0] == first_b[0]
    return False


def name_similarity(a: MatchProfile, b: MatchProfile) -> float:
    """0-1: how alike two names are, word order, accents, case and nicknames aside."""
    if not a.name_key or not b.name_key:
        return 0.0
    if a.name_key == b.name_key:
        return 1.0
    if _initials_agree(a.tokens, b.tokens):
        return 0.9
    return float(token_sort_ratio(a.name_key, b.name_key)) / 100.0


def similar_names(a: MatchProfile, names: Sequence[str]) -> list[int]:
    """Positions of the names that `name_similarity` would call similar to `a`'s, in order.

    The cheap pre-filter of a large block: only names are compared (one rapidfuzz C loop),
    so only the few holders it keeps need reading whole enough to be scored.
    """
    if not a.name_key:
        return []
    tokens = [name_tokens(name) for name in names]
    keys = [" ".join(sorted(t)) for t in tokens]
    # `extract` with no limit: every name over the cutoff, found in one C loop (extract_iter
    # yields each to Python: 9.3 -> 7.9 us per look-up of a re-match round's weak blocks).
    hits = {
        at
        for _, _, at in process.extract(
            a.name_key, keys, scorer=token_sort_ratio, score_cutoff=SIMILAR_NAME * 100, limit=None
        )
    }
    hits.update(at for at, t in enumerate(tokens) if _initials_agree(a.tokens, t))
    return sorted(hits)


def _share(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return any(value in b for value in a)


def _same_company(a: str, b: str) -> bool:
    if not a or not b:
        return False
    return a == b or Levenshtein.normalized_similarity(a, b) >= 0.9


def name_alone_is_enough(a: MatchProfile, b: MatchProfile, similarity: float) -> bool:
    """Whether a similar name is a match with no identifier, company or work domain shared.

    Only when the names are very close and nothing tells the two apart: two contacts who each
    name a company (or each have a work-email domain) and share neither are people with a common
    name at different employers, not duplicates. At a million contacts that rule alone turns
    ~730,000 listed pairs of strangers into none, while a contact with too little data to tell
    (a name from a chat, no company) is still put next to its very close namesakes. Like
    Salesforce's standard matching rule, which never matches on a name by itself.
    """
    if similarity < VERY_CLOSE_NAME:
        return False
    # A shared company or domain would be a reason of its own: both set means they differ.
    return not (a.company and b.company) and not (a.domains and b.domains)


def score_pair(a: MatchProfile, b: MatchProfile) -> Match | None:
    """How likely `b` is a duplicate of `a`, or None when nothing points to it."""
    reasons: list[str] = []
    if _share(a.external_ids, b.external_ids):
        reasons.append("same_external_id")
    if _share(a.emails, b.emails):
        reasons.append("same_email")
    if _share(a.phones, b.phones):
        reasons.append("same_phone")
    similarity = name_similarity(a, b)
    similar = similarity >= SIMILAR_NAME
    if similar:
        reasons.append(SIMILAR_NAME_REASON)
    if not reasons:
        return None
    company = _same_company(a.company, b.company)
    # A shared address implies its domain: only a domain shared otherwise is a reason.
    domain = "same_email" not in reasons and _share(a.domains, b.domains)
    if company:
        reasons.append("same_company")
    if domain:
        reasons.append("same_email_domain")
    if reasons == [SIMILAR_NAME_REASON] and not name_alone_is_enough(a, b, similarity):
        return None
    identifiers = [_IDENTIFIER_SCORES[r] for r in reasons if r in _IDENTIFIER_SCORES]
    score = 0.0
    if identifiers:
        # Each further reason (another identifier, the name, the company) adds a little.
        score = min(1.0, max(identifiers) + 0.01 * (len(reasons) - 1))
    if similar:
        fuzzy = 0.5 + 0.2 * (similarity - SIMILAR_NAME) / (1 - SIMILAR_NAME)
        fuzzy += 0.15 * company + 0.1 * domain
        score = max(score, min(fuzzy, _FUZZY_CAP))
    return Match(contact_id=b.id, score=round(score, 4), reasons=tuple(reasons))


def rank(a: MatchProfile, candidates: Iterable[MatchProfile]) -> list[Match]:
    """The candidates that match `a` (itself left out), best first, then oldest first."""
    found = [m for c in candidates if c.id != a.id and (m := score_pair(a, c)) is not None]
    found.sort(key=lambda m: (-m.score, m.contact_id))
    return found
