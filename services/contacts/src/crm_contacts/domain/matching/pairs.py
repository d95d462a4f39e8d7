"""Candidate pairs as stored: a stable id per pair of contacts, and what a dismissal remembers.

A dismissed pair stays dismissed while its reasons stay within the ones it was dismissed with;
a change that adds a new reason (say the two now share a phone) brings it back, because the
person who dismissed it never saw that evidence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any


def pair_id(a: str, b: str) -> str:
    """The group id of two contacts, the same whichever comes first."""
    low, high = sorted((a, b))
    return "dup_" + hashlib.sha256(f"{low}|{high}".encode()).hexdigest()[:24]


def new_pair(
    *, tenant: str, a: str, b: str, score: float, reasons: Sequence[str], now: str
) -> dict[str, Any]:
    """A new open pair document."""
    return {
        "id": pair_id(a, b),
        "tenant": tenant,
        "contact_ids": sorted((a, b)),
        "score": score,
        "reasons": list(reasons),
        "dismissed": False,
        "dismissed_reasons": [],
        "dismissed_at": None,
        "dismissed_by": None,
        "updated_at": now,
    }


def rescored_pair(
    old: Mapping[str, Any], *, score: float, reasons: Sequence[str], now: str
) -> dict[str, Any] | None:
    """The stored pair with a new score and reasons; None when nothing changed."""
    dismissed = bool(old.get("dismissed"))
    if dismissed and set(reasons) - set(old.get("dismissed_reasons") or ()):
        dismissed = False  # new evidence: the pair comes back
    if (
        old.get("score") == score
        and list(old.get("reasons") or ()) == list(reasons)
        and dismissed == bool(old.get("dismissed"))
    ):
        return None
    updated = {**old, "score": score, "reasons": list(reasons), "updated_at": now}
    if not dismissed and old.get("dismissed"):
        updated.update(dismissed=False, dismissed_reasons=[], dismissed_at=None, dismissed_by=None)
    return updated


def dismissed_pair(old: Mapping[str, Any], *, actor: str, now: str) -> dict[str, Any]:
    """The pair marked "not duplicates", remembering the reasons it had then."""
    return {
        **old,
        "dismissed": True,
        "dismissed_reasons": list(old.get("reasons") or ()),
        "dismissed_at": now,
        "dismissed_by": actor,
        "updated_at": now,
    }
