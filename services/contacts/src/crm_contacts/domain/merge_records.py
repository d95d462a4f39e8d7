"""The record a merge keeps so it can be undone, and the rules of undoing it.

The record holds every involved contact exactly as it was before the merge, and the primary as
the merge left it. Undo brings each duplicate back as it was (a new version, not the old one).
The primary goes back to its pre-merge values too, except for the fields edited after the merge:
an edit made since the merge is kept (field by field, custom fields key by key) and reported, so
undoing a merge never silently throws away later work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crm_contacts.domain.contact import refresh_derived
from crm_contacts.domain.merging import CUSTOM_PREFIX, MergeRequest

# What a merge may change on the primary, and so what undo restores. A typed phone text
# follows its number, the linked account its company: they are restored or kept together.
RESTORED_FIELDS: tuple[tuple[str, ...], ...] = (
    ("name",),
    ("email",),
    ("phone", "phone_raw"),
    ("emails",),
    ("phones", "phones_raw"),
    ("company", "account_id"),
    ("timezone",),
    ("owner",),
    ("tags",),
    ("campaigns",),
)


def new_merge_record(
    *,
    merge_id: str,
    tenant: str,
    request: MergeRequest,
    before: Mapping[str, Mapping[str, Any]],
    primary_after: Mapping[str, Any],
    now: str,
    actor: str,
) -> dict[str, Any]:
    """The stored merge: who was merged into whom, and everything needed to undo it."""
    return {
        "id": merge_id,
        "tenant": tenant,
        "status": "merged",
        "primary_id": request.primary_id,
        "duplicate_ids": list(request.duplicate_ids),
        "contact_ids": list(request.contact_ids),
        "merged_at": now,
        "merged_by": actor,
        "undone_at": None,
        "undone_by": None,
        "before": {cid: dict(before[cid]) for cid in request.contact_ids},
        "primary_after": dict(primary_after),
    }


def _restore_custom_fields(
    before: Mapping[str, Any], after: Mapping[str, Any], current: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    restored: dict[str, Any] = {}
    kept: list[str] = []
    for key in dict.fromkeys([*before, *after, *current]):
        if current.get(key) == after.get(key):
            value = before.get(key)
        else:
            value = current.get(key)
            kept.append(f"{CUSTOM_PREFIX}{key}")
        if value is not None:
            restored[key] = value
    return restored, kept


def restored_primary(
    record: Mapping[str, Any], current: Mapping[str, Any], *, now: str
) -> tuple[dict[str, Any], list[str]]:
    """The primary back at its pre-merge values, and the fields kept because edited since."""
    before = record["before"][record["primary_id"]]
    after = record["primary_after"]
    restored = dict(current)
    kept: list[str] = []
    for group in RESTORED_FIELDS:
        if not any(name in before or name in current for name in group):
            continue
        if all(current.get(name) == after.get(name) for name in group):
            for name in group:
                restored[name] = before.get(name)
        else:
            kept.append(group[0])
    custom, kept_custom = _restore_custom_fields(
        before.get("custom_fields") or {},
        after.get("custom_fields") or {},
        current.get("custom_fields") or {},
    )
    restored["custom_fields"] = custom
    restored["version"] = int(current["version"]) + 1
    restored["updated_at"] = now
    return refresh_derived(restored), [*kept, *kept_custom]


def restored_duplicate(
    before: Mapping[str, Any], current: Mapping[str, Any], *, now: str
) -> dict[str, Any]:
    """A duplicate exactly as it was before the merge, at a new version."""
    back = dict(before)
    back["version"] = int(current["version"]) + 1
    back["updated_at"] = now
    back["merged_into"] = None
    return refresh_derived(back)


def merged_away(doc: Mapping[str, Any], *, primary_id: str, now: str) -> dict[str, Any]:
    """A duplicate out of the live set: merged into the primary, deleted (restorable by undo).

    The deletion stamp makes every live-only query (search, email look-ups, duplicate checks,
    bulk selections) skip it, and lets the retention purge remove it when undo is no longer
    possible.
    """
    gone = {**doc, "merged_into": primary_id, "deleted_at": now, "updated_at": now}
    gone["version"] = int(doc["version"]) + 1
    return gone


def undo_blocker(
    record: Mapping[str, Any], current: Mapping[str, dict[str, Any] | None]
) -> str | None:
    """Why the contacts' current state forbids undoing the merge (None when nothing does)."""
    primary_id = record["primary_id"]
    primary = current.get(primary_id)
    if primary is None:
        return f"the primary contact {primary_id} no longer exists"
    if primary.get("erased_at") is not None:
        return f"the primary contact {primary_id} was erased"
    if primary.get("merged_into"):
        return f"the primary contact {primary_id} was merged into {primary['merged_into']} since"
    if primary.get("deleted_at") is not None:
        return f"the primary contact {primary_id} is deleted; restore it first"
    for duplicate_id in record["duplicate_ids"]:
        doc = current.get(duplicate_id)
        if doc is None:
            return f"contact {duplicate_id} was purged after the retention period"
        if doc.get("erased_at") is not None:
            return f"contact {duplicate_id} was erased"
        if doc.get("merged_into") != primary_id:
            return f"contact {duplicate_id} is no longer merged into {primary_id}"
    return None


def later_merge(record: Mapping[str, Any], others: Sequence[Mapping[str, Any]]) -> str | None:
    """A standing merge made after this one on one of its contacts (ids are time-ordered)."""
    later = sorted(str(other["id"]) for other in others if str(other["id"]) > str(record["id"]))
    return later[0] if later else None
