"""Audit entries as the writer before format 2 stored them, for tests that old entries still
verify: per-value commitments in `changes`, each value with its salt in `values`, no `format`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_gdpr.domain.audit import AuditDraft, entry_hash
from crm_gdpr.domain.audit_values import commit_changes


def first_format_entries(
    drafts: Sequence[AuditDraft], *, tenant: str, after_seq: int, prev_hash: str
) -> list[dict[str, Any]]:
    """The stored documents of `drafts` in format 1, appended after `after_seq` (`prev_hash`)."""
    entries: list[dict[str, Any]] = []
    for seq, draft in enumerate(drafts, start=after_seq + 1):
        committed, openings = commit_changes(draft.changes) if draft.changes else (None, None)
        attributes = {
            "tenant": tenant,
            "seq": seq,
            "at": draft.at,
            "actor": draft.actor,
            "action": draft.action,
            "target": draft.target,
            "fields": list(draft.fields),
            "event_id": draft.event_id,
            "prev_hash": prev_hash,
        }
        digest = entry_hash(**attributes, changes=committed)
        values = {"changes": committed, "values": openings} if committed else {}
        entries.append({**values, "id": f"first-{seq}", **attributes, "hash": digest})
        prev_hash = digest
    return entries
