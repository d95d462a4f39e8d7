"""The audit log's hash chain: entries without personal data, each hashing the previous one."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from crm_gdpr.domain.audit_values import (
    VALUES_AS_ONE,
    ValueChange,
    commit_values,
    opening_holds,
    openings_hold,
    salts,
)

GENESIS_HASH = "0" * 64
DATA_EXPORT_ACTION = "gdpr.data-export"
# An access bundle deleted at the end of its retention period.
DATA_EXPORT_DELETED_ACTION = "gdpr.data-export.deleted"


class AuditDraft(NamedTuple):
    """Something that happened, before it gets its place (seq and hashes) in a tenant's chain.

    `fields` names what changed; `changes` holds values, which the chain covers only through
    salted commitments (domain/audit_values.py), so erasure can redact them.
    Immutable; a named tuple rather than a frozen dataclass because an import batch makes a
    thousand at a time and a tuple is built in half the time.
    """

    at: str
    actor: str
    action: str
    target: str
    fields: tuple[str, ...] = ()
    event_id: str | None = None
    # Before and after values of the changed fields: committed to in the chain, kept beside it.
    changes: tuple[ValueChange, ...] = ()


def canonical_form(
    *,
    tenant: str,
    seq: int,
    at: str,
    actor: str,
    action: str,
    target: str,
    fields: list[str],
    event_id: str | None,
    prev_hash: str,
    changes: list[dict[str, Any]] | None = None,
    format: Any = None,
    values_commitment: Any = None,
) -> bytes:
    """The bytes an entry's hash covers: its chained attributes as canonical JSON.

    Canonical means exactly `json.dumps(attrs, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False).encode("utf-8")`: keys sorted, no whitespace, non-ASCII text unescaped.
    `changes` (the first format's per-value commitments) is among the attributes only when an
    entry has some, so entries written before values were recorded keep their hashes; `format`
    and `values_commitment` only in an entry that has a format (2: its values committed to as
    one), so entries of the first format keep theirs.
    """
    return _canonical(
        tenant=tenant,
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        target=target,
        fields=fields,
        event_id=event_id,
        prev_hash=prev_hash,
        changes=changes,
        commitments_plain=_sorted_commitments(changes),
        format=format,
        values_commitment=values_commitment,
    )


def _canonical(
    *,
    tenant: str,
    seq: int,
    at: str,
    actor: str,
    action: str,
    target: str,
    fields: list[str],
    event_id: str | None,
    prev_hash: str,
    changes: list[dict[str, Any]] | None,
    commitments_plain: bool,
    format: Any = None,
    values_commitment: Any = None,
) -> bytes:
    """`canonical_form`; `commitments_plain` says `changes` were checked (or written by
    `commit_changes`, whose commitments always are keys in order and plain strings)."""
    # Keys written in sorted order, so orjson needs no sorting pass; one dict literal for the
    # entries nearly all are (format 2, no per-value commitments), not three merged.
    if format is not None and not changes:
        attrs: dict[str, Any] = {
            "action": action,
            "actor": actor,
            "at": at,
            "event_id": event_id,
            "fields": fields,
            "format": format,
            "prev_hash": prev_hash,
            "seq": seq,
            "target": target,
            "tenant": tenant,
        }
    else:
        attrs = {"action": action, "actor": actor, "at": at}
        if changes:
            attrs["changes"] = changes
        attrs |= {"event_id": event_id, "fields": fields}
        if format is not None:
            attrs["format"] = format
        attrs |= {"prev_hash": prev_hash, "seq": seq, "target": target, "tenant": tenant}
    if format is not None:
        attrs["values_commitment"] = values_commitment
        # Anything but a number and text (a tampered entry) takes the reference encoder.
        commitments_plain = (
            commitments_plain
            and type(format) is int
            and (values_commitment is None or type(values_commitment) is str)
        )
    # orjson writes strings, 64-bit ints, lists and null byte for byte as json.dumps does (a test
    # pins that over every code point), several times faster. Anything else, such as a float or a
    # nested object in a tampered entry, takes the reference encoder, so the hash of every value
    # stays what it always was.
    if (
        commitments_plain
        and type(seq) is int
        and type(tenant) is str
        and type(at) is str
        and type(actor) is str
        and type(action) is str
        and type(target) is str
        and type(prev_hash) is str
        and (event_id is None or type(event_id) is str)
        and type(fields) is list
        and _texts_only(fields)
    ):
        try:
            return orjson.dumps(attrs)
        except orjson.JSONEncodeError:
            pass  # an int beyond 64 bits or a lone surrogate: the reference encoder decides
    return json.dumps(attrs, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


_TEXT = frozenset({str})


def _texts_only(names: list[Any]) -> bool:
    # Each name's exact type compared in C, not by all() over a generator: every appended
    # entry's fields are checked.
    return _TEXT.issuperset(map(type, names))


def _sorted_commitments(changes: list[dict[str, Any]] | None) -> bool:
    """Whether orjson writes `changes` as the reference does (keys in order, plain strings)."""
    if not changes:
        return True
    return type(changes) is list and all(
        type(c) is dict
        and list(c) == ["after", "before", "field"]
        and all(v is None or type(v) is str for v in c.values())
        for c in changes
    )


def entry_hash(
    *,
    tenant: str,
    seq: int,
    at: str,
    actor: str,
    action: str,
    target: str,
    fields: list[str],
    event_id: str | None,
    prev_hash: str,
    changes: list[dict[str, Any]] | None = None,
    format: Any = None,
    values_commitment: Any = None,
) -> str:
    """SHA-256 (lower-case hex) of the entry's `canonical_form`."""
    canonical = canonical_form(
        tenant=tenant,
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        target=target,
        fields=fields,
        event_id=event_id,
        prev_hash=prev_hash,
        changes=changes,
        format=format,
        values_commitment=values_commitment,
    )
    return hashlib.sha256(canonical).hexdigest()


def chain_entry(
    draft: AuditDraft, *, id: str, tenant: str, seq: int, prev_hash: str
) -> dict[str, Any]:
    """The stored document for a draft appended after an entry whose hash is `prev_hash`."""
    [entry] = chain_entries(
        [draft], ids=[id], tenant=tenant, after_seq=seq - 1, prev_hash=prev_hash
    )
    return entry


def chain_entries(
    drafts: Sequence[AuditDraft],
    *,
    ids: Sequence[str],
    tenant: str,
    after_seq: int,
    prev_hash: str,
) -> list[dict[str, Any]]:
    """The stored documents for drafts appended in order after entry `after_seq` (`prev_hash`).

    An entry with values is of format 2: one commitment to all its values (`commit_values`).
    Its values, their salts and commitments once a nested object each, were most of the cost of
    an imported contact's entry, to build, to hash and to store.
    """
    entries: list[dict[str, Any]] = []
    seq = after_seq
    # The batch's salts (one an entry with values) from one read of the system's random source.
    draw = salts(len(drafts))
    # One tight loop for a whole batch: an import event appends a thousand entries at once.
    for draft, entry_id in zip(drafts, ids, strict=True):
        seq += 1
        fields = list(draft.fields)
        sealed, opening = commit_values(draft.changes, salt=draw) if draft.changes else (None, None)
        canonical = _canonical(
            tenant=tenant,
            seq=seq,
            at=draft.at,
            actor=draft.actor,
            action=draft.action,
            target=draft.target,
            fields=fields,
            event_id=draft.event_id,
            prev_hash=prev_hash,
            changes=None,
            commitments_plain=True,
            format=VALUES_AS_ONE if sealed else None,
            values_commitment=sealed,
        )
        digest = hashlib.sha256(canonical).hexdigest()
        extra: dict[str, Any] = (
            {"format": VALUES_AS_ONE, "values_commitment": sealed, "values": opening}
            if sealed
            else {}
        )
        entries.append(
            {
                **extra,
                "id": entry_id,
                "tenant": tenant,
                "seq": seq,
                "at": draft.at,
                "actor": draft.actor,
                "action": draft.action,
                "target": draft.target,
                "fields": fields,
                "event_id": draft.event_id,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    return entries


def recomputed_hash(entry: dict[str, Any]) -> str:
    """The hash a stored entry should carry, from its own attributes."""
    return entry_hash(
        tenant=entry.get("tenant", ""),
        seq=entry.get("seq", 0),
        at=entry.get("at", ""),
        actor=entry.get("actor", ""),
        action=entry.get("action", ""),
        target=entry.get("target", ""),
        fields=list(entry.get("fields", [])),
        event_id=entry.get("event_id"),
        prev_hash=entry.get("prev_hash", ""),
        changes=entry.get("changes"),
        format=entry.get("format"),
        values_commitment=entry.get("values_commitment"),
    )


def values_hold(entry: dict[str, Any]) -> bool:
    """Whether the values an entry keeps open its commitments, in its format (True once
    redacted); an entry of a format this code does not know never holds."""
    entry_format = entry.get("format")
    if entry_format is None:
        return openings_hold(entry.get("changes"), entry.get("values"))
    if entry_format == VALUES_AS_ONE and type(entry_format) is int:
        return opening_holds(entry.get("values_commitment"), entry.get("values"))
    return False


@dataclass(frozen=True)
class ChainReport:
    """The result of walking a chain: valid, how many entries were checked, the first broken seq."""

    valid: bool
    checked: int
    first_broken_seq: int | None


class ChainWalker:
    """Checks entries one by one in seq order, so a long chain can be streamed, not loaded."""

    def __init__(self) -> None:
        self._expected_seq = 1
        self._prev_hash = GENESIS_HASH
        self._checked = 0
        self._broken: int | None = None

    @property
    def broken(self) -> bool:
        """Whether a broken link was found (the walk can stop)."""
        return self._broken is not None

    def check(self, entry: dict[str, Any]) -> bool:
        """Check the next entry: its seq follows, it links to the previous hash, its hash holds."""
        if self._broken is not None:
            return False
        self._checked += 1
        seq = entry.get("seq")
        intact = (
            seq == self._expected_seq
            and entry.get("prev_hash") == self._prev_hash
            and entry.get("hash") == recomputed_hash(entry)
            # Kept values must still open their commitments; redacted ones are simply gone.
            and values_hold(entry)
        )
        if not intact:
            # A missing entry shows as a gap: the entry after it is the first broken link.
            self._broken = seq if isinstance(seq, int) else self._expected_seq
            return False
        self._expected_seq += 1
        self._prev_hash = str(entry["hash"])
        return True

    def report(self) -> ChainReport:
        """The verdict so far."""
        return ChainReport(
            valid=self._broken is None, checked=self._checked, first_broken_seq=self._broken
        )
