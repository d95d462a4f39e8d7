"""Salted commitments to the values an audit entry records, so values can be redacted.

The chain hashes an entry's commitments, never its values: `commitment = sha256(salt || value)`
with a fresh 16-byte salt per value, where `value` is the value's canonical JSON (sorted keys, no
whitespace, UTF-8). The entry keeps the salt and value beside the chain; redaction on erasure
deletes both and keeps the commitment, so the chain still verifies and the value can neither be
read nor guessed back (the salt is gone with it).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

SALT_BYTES = 16


class ValueChange(NamedTuple):
    """One changed field and its values before and after (None: no value)."""

    field: str
    before: Any = None
    after: Any = None


def canonical_value(value: Any) -> bytes:
    """The bytes a commitment covers for a value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def commitment(salt_hex: str, value: Any) -> str:
    """sha256(salt || canonical JSON of the value), lower-case hex."""
    return hashlib.sha256(bytes.fromhex(salt_hex) + canonical_value(value)).hexdigest()


def _opening(value: Any, salt: Callable[[], bytes]) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"salt": salt().hex(), "value": value}


def commit_changes(
    changes: Sequence[ValueChange], *, salt: Callable[[], bytes] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(commitments the chain covers, openings kept beside it) for an entry's changes.

    Keys are written in sorted order: the chain's canonical form needs them so.
    """
    draw = salt or (lambda: secrets.token_bytes(SALT_BYTES))
    committed: list[dict[str, Any]] = []
    openings: list[dict[str, Any]] = []
    for change in changes:
        before = _opening(change.before, draw)
        after = _opening(change.after, draw)
        committed.append(
            {
                "after": commitment(after["salt"], after["value"]) if after else None,
                "before": commitment(before["salt"], before["value"]) if before else None,
                "field": change.field,
            }
        )
        openings.append({"after": after, "before": before, "field": change.field})
    return committed, openings


def openings_hold(committed: Any, openings: Any) -> bool:
    """Whether kept values still open their commitments (True when they were redacted)."""
    if openings is None:
        return True
    if not isinstance(committed, list) or not isinstance(openings, list):
        return False
    if len(committed) != len(openings):
        return False
    for promised, opened in zip(committed, openings, strict=True):
        if not isinstance(promised, dict) or not isinstance(opened, dict):
            return False
        for side in ("before", "after"):
            kept = opened.get(side)
            if kept is None:
                if promised.get(side) is not None:
                    return False
                continue
            try:
                if commitment(str(kept["salt"]), kept.get("value")) != promised.get(side):
                    return False
            except (KeyError, ValueError, TypeError):
                return False
    return True
