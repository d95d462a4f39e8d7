"""What a merge does to the consent ledger: entries are added, never rewritten.

On a merge, each (purpose, channel) decision of the duplicates is copied onto the primary when
the primary has no decision for it or an older one: the person's latest decision wins, whichever
record it was made on. On undo, each copied decision that is still the primary's latest is
followed by an entry going back to the primary's own earlier decision, or to `withdrawn` when it
had none (no consent is assumed where none was given).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from crm_gdpr.domain.consent import ConsentEntry, PurposeConsent, current_consents


@dataclass(frozen=True)
class EntryStamp:
    """Who records the new entries, when, for which tenant and merge."""

    tenant: str
    merge_id: str
    recorded_at: str
    recorded_by: str


def moved_consents(
    primary_id: str,
    primary_entries: Iterable[ConsentEntry],
    duplicates: Mapping[str, Iterable[ConsentEntry]],
    *,
    stamp: EntryStamp,
    ids: Iterable[str],
) -> list[ConsentEntry]:
    """The entries to append to the primary's ledger for a merge."""
    latest: dict[tuple[str, str], PurposeConsent] = {
        (p.purpose, p.channel): p for p in current_consents(primary_entries)
    }
    chosen: dict[tuple[str, str], tuple[str, ConsentEntry]] = {}
    for duplicate_id, entries in duplicates.items():
        for purpose in current_consents(entries):
            key = (purpose.purpose, purpose.channel)
            entry = purpose.history[-1]
            held = latest.get(key)
            if held is not None and held.history[-1].recorded_at >= entry.recorded_at:
                continue
            best = chosen.get(key)
            if best is None or best[1].recorded_at < entry.recorded_at:
                chosen[key] = (duplicate_id, entry)
    new_ids = iter(ids)
    return [
        entry.model_copy(
            update={
                "id": next(new_ids),
                "tenant": stamp.tenant,
                "contact_id": primary_id,
                "source": f"merge:{stamp.merge_id}",
                "recorded_at": stamp.recorded_at,
                "recorded_by": stamp.recorded_by,
                "merge_id": stamp.merge_id,
                "merged_from": duplicate_id,
            }
        )
        for _, (duplicate_id, entry) in sorted(chosen.items())
    ]


def reverted_consents(
    primary_id: str,
    primary_entries: Iterable[ConsentEntry],
    *,
    stamp: EntryStamp,
    ids: Iterable[str],
) -> list[ConsentEntry]:
    """The entries to append to the primary's ledger when its merge is undone."""
    new_ids = iter(ids)
    reverted: list[ConsentEntry] = []
    for purpose in current_consents(primary_entries):
        last = purpose.history[-1]
        if last.merge_id != stamp.merge_id:
            continue  # not from this merge, or a decision recorded since: it stands
        own = [
            e for e in purpose.history if e.merge_id is None and e.recorded_at < last.recorded_at
        ]
        update: dict[str, object] = {
            "id": next(new_ids),
            "source": f"merge-undone:{stamp.merge_id}",
            "recorded_at": stamp.recorded_at,
            "recorded_by": stamp.recorded_by,
            "merge_id": None,
            "merged_from": None,
        }
        if own:
            base = own[-1]
        else:
            base = last
            update.update(status="withdrawn", lawful_basis="consent", notice_version=None)
        reverted.append(base.model_copy(update=update))
    return reverted
