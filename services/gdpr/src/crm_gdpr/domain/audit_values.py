"""Salted commitments to the values an audit entry records, so values can be redacted.

The chain hashes an entry's commitments, never its values. Entries of format 2 (`format: 2`,
written since) commit to all their values as one: `values_commitment = sha256(salt || rows)`
with a fresh 16-byte salt, where `rows` is the canonical JSON (sorted keys, no whitespace, UTF-8)
of `[[field, before, after], ...]`; the entry keeps `{"salt", "changes": rows}` beside the chain.
Entries of the first format (no `format`) commit to each value on its own,
`sha256(salt || value)`, a salt per value, and keep each salt and value. Redaction on erasure
deletes what is kept beside the chain and keeps the commitments, so the chain still verifies
and the values can neither be read nor guessed back (the salts are gone with them).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import orjson

SALT_BYTES = 16


class ValueChange(NamedTuple):
    """One changed field and its values before and after (None: no value)."""

    field: str
    before: Any = None
    after: Any = None


def canonical_value(value: Any) -> bytes:
    """The bytes a commitment covers for a value.

    Exactly `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` in
    UTF-8. orjson writes text, integers, booleans, null, lists and string-keyed objects byte for
    byte the same (sorting keys by code point, as UTF-8 bytes sort), several times faster; any
    other value (a float, a tuple) and what orjson refuses (a lone surrogate, an integer beyond
    64 bits) take the reference encoder, so every commitment stays what it always was.
    """
    # Text, nearly every value, skips the walk over containers.
    return _canonical_json(value, plain=type(value) is str or _plain_json(value))


def _canonical_json(value: Any, *, plain: bool) -> bytes:
    """`canonical_value` of a value `_plain_json` holds for when `plain` (orjson's bytes);
    otherwise, or when orjson refuses it, the reference encoder's."""
    if plain:
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def _plain_json(value: Any) -> bool:
    """Whether `value` holds only types orjson writes exactly as the reference encoder does."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    # Plain loops with text and null first, not all() over a generator: an entry's values are
    # rows of [field, before, after], mostly text, null or lists of text (tags, emails, phones).
    if kind is list:
        for item in value:
            if item is None or type(item) is str:
                continue
            if not _plain_json(item):
                return False
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) is not str and not _plain_json(item)):
                return False
        return True
    return False


def commitment(salt_hex: str, value: Any) -> str:
    """sha256(salt || canonical JSON of the value), lower-case hex."""
    return hashlib.sha256(bytes.fromhex(salt_hex) + canonical_value(value)).hexdigest()


def salts(count: int) -> Callable[[], bytes]:
    """Fresh salts, as many as are drawn, read from the system's random source `count` at a
    time (one call per value cost more than the rest of the entry's commitments together).

    Read again when drawn out, so a caller sizes `count` for the usual case, not for the most
    it could draw (a pool sized for both sides of every change was half wasted on an import's
    entries, which hold after-values only).
    """
    size = SALT_BYTES * max(1, count)

    def pools() -> Iterator[bytes]:
        while True:
            pool = secrets.token_bytes(size)
            yield from [pool[at : at + SALT_BYTES] for at in range(0, size, SALT_BYTES)]

    return pools().__next__


def commit_changes(
    changes: Sequence[ValueChange], *, salt: Callable[[], bytes] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(commitments the chain covers, openings kept beside it) for an entry's changes, a
    commitment per value: format 1, how entries were written before format 2 (`commit_values`);
    the reference for those entries, which `openings_hold` checks.

    Keys are written in sorted order: the chain's canonical form needs them so.
    """
    draw = salt or salts(2 * len(changes))
    committed: list[dict[str, Any]] = []
    openings: list[dict[str, Any]] = []
    # One flat loop: an import's entry commits to some eight values, a batch to thousands.
    for field, before_value, after_value in changes:
        before_promise = before = after_promise = after = None
        if before_value is not None:
            salt_bytes = draw()
            before_promise = hashlib.sha256(salt_bytes + canonical_value(before_value)).hexdigest()
            before = {"salt": salt_bytes.hex(), "value": before_value}
        if after_value is not None:
            salt_bytes = draw()
            after_promise = hashlib.sha256(salt_bytes + canonical_value(after_value)).hexdigest()
            after = {"salt": salt_bytes.hex(), "value": after_value}
        committed.append({"after": after_promise, "before": before_promise, "field": field})
        openings.append({"after": after, "before": before, "field": field})
    return committed, openings


# The format of entries that commit to their values as one (`commit_values`); an entry without
# a `format` commits to each value on its own (`commit_changes`).
VALUES_AS_ONE = 2


def commit_values(
    changes: Sequence[ValueChange], *, salt: Callable[[], bytes]
) -> tuple[str, dict[str, Any]]:
    """(the commitment the chain covers, the opening kept beside it) of an entry's changes as
    one: a hash and a salt an entry, not one each per value (an import's entry holds some eight
    values), and an opening of plain rows."""
    # The rows are checked for `_plain_json` as they are built: text and null (nearly every
    # value) need no call, and the rows themselves no second walk (`canonical_value` walked
    # every row again, ~2 us of an imported contact's ~7 values).
    rows: list[list[Any]] = []
    plain = True
    for field, before, after in changes:
        rows.append([field, before, after])
        if plain:
            plain = (
                type(field) is str
                and (before is None or type(before) is str or _plain_json(before))
                and (after is None or type(after) is str or _plain_json(after))
            )
    salt_bytes = salt()
    sealed = hashlib.sha256(salt_bytes + _canonical_json(rows, plain=plain)).hexdigest()
    return sealed, {"salt": salt_bytes.hex(), "changes": rows}


def opening_holds(sealed: Any, opening: Any) -> bool:
    """Whether a format 2 entry's kept values open its commitment (True once redacted)."""
    if opening is None:
        return True
    if not isinstance(opening, dict) or not isinstance(sealed, str):
        return False
    salt, rows = opening.get("salt"), opening.get("changes")
    if not isinstance(salt, str) or not isinstance(rows, list):
        return False
    try:
        return commitment(salt, rows) == sealed
    except (ValueError, TypeError):
        return False


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
