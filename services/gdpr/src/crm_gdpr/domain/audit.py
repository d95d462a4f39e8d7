"""The audit log's hash chain: entries without personal data, each hashing the previous one."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64
DATA_EXPORT_ACTION = "gdpr.data-export"


@dataclass(frozen=True)
class AuditDraft:
    """Something that happened, before it gets its place (seq and hashes) in a tenant's chain.

    `fields` names what changed and never holds a value, so the log keeps no personal data.
    """

    at: str
    actor: str
    action: str
    target: str
    fields: tuple[str, ...] = ()
    event_id: str | None = None


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
) -> str:
    """SHA-256 over a canonical JSON (sorted keys, no spaces, UTF-8) of the chained attributes."""
    canonical = json.dumps(
        {
            "tenant": tenant,
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "target": target,
            "fields": fields,
            "event_id": event_id,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chain_entry(
    draft: AuditDraft, *, id: str, tenant: str, seq: int, prev_hash: str
) -> dict[str, Any]:
    """The stored document for a draft appended after an entry whose hash is `prev_hash`."""
    fields = list(draft.fields)
    digest = entry_hash(
        tenant=tenant,
        seq=seq,
        at=draft.at,
        actor=draft.actor,
        action=draft.action,
        target=draft.target,
        fields=fields,
        event_id=draft.event_id,
        prev_hash=prev_hash,
    )
    return {
        "id": id,
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
    )


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
