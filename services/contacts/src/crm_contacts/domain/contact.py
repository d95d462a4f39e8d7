"""The contact document: its shape, derived search fields, changes, deletion and erasure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from crm_contacts.domain.validation import merge_tags
from crm_shared.privacy import identifier_hash, normalize_phone

Source = Literal["manual", "chat", "form", "integration", "import"]
ERASED_NAME = "Erased contact"
PUBLIC_FIELDS = (
    "id",
    "version",
    "name",
    "email",
    "phone",
    "phone_raw",
    "company",
    "timezone",
    "tags",
    "custom_fields",
    "source",
    "created_at",
    "updated_at",
    "deleted_at",
)
# Fields erasure clears; they hold or are derived from personal data.
_ERASED_FIELDS: dict[str, Any] = {
    "email": None,
    "email_norm": None,
    "phone": None,
    "phone_raw": None,
    "company": None,
    "timezone": None,
    "search_text": "",
}
Changes = dict[str, tuple[Any, Any]]


def _search_text(doc: Mapping[str, Any]) -> str:
    parts = (doc.get(f) for f in ("name", "email", "phone", "phone_raw", "company"))
    return "\n".join(p for p in parts if p).lower()


def refresh_derived(doc: dict[str, Any]) -> dict[str, Any]:
    """Recompute the lower-cased fields that duplicate checks, tag filters and search query."""
    doc["email_norm"] = doc.get("email")  # emails are stored normalized already
    doc["tags_norm"] = [t.lower() for t in doc.get("tags", ())]
    doc["search_text"] = _search_text(doc)
    return doc


def new_contact(
    *, contact_id: str, tenant: str, profile: Mapping[str, Any], source: str, now: str
) -> dict[str, Any]:
    """A version-1 contact document from a validated profile."""
    doc: dict[str, Any] = {
        "id": contact_id,
        "tenant": tenant,
        "version": 1,
        "name": None,
        "email": None,
        "phone": None,
        "phone_raw": None,
        "company": None,
        "timezone": None,
        "tags": [],
        "custom_fields": {},
        "source": source,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
        "erased_at": None,
    }
    doc.update(profile)
    return refresh_derived(doc)


def apply_profile(
    doc: Mapping[str, Any],
    profile: Mapping[str, Any],
    *,
    merge_tags_: bool = False,
    merge_custom_fields: bool = True,
) -> tuple[dict[str, Any], Changes]:
    """The document with a validated (partial) profile applied, and what actually changed.

    Custom fields merge key by key (auto-save sends one at a time) unless told to replace; tags
    replace unless told to merge (imports merge them). A phone that formats to the same E.164
    number is no change, so its original spelling is kept.
    """
    updated = dict(doc)
    changes: Changes = {}
    for field, value in profile.items():
        if field == "phone_raw":
            continue
        before = doc.get(field)
        after = value
        if field == "tags" and merge_tags_:
            after = merge_tags(before or [], value)
        elif field == "custom_fields" and merge_custom_fields:
            after = {**(before or {}), **value}
        if after != before:
            changes[field] = (before, after)
            updated[field] = after
            if field == "phone":
                updated["phone_raw"] = profile.get("phone_raw")
    if changes:
        refresh_derived(updated)
    return updated, changes


def bump(doc: dict[str, Any], now: str) -> dict[str, Any]:
    """Record one more change: version + 1 and the update time."""
    doc["version"] = int(doc["version"]) + 1
    doc["updated_at"] = now
    return doc


def soft_deleted(doc: Mapping[str, Any], now: str) -> dict[str, Any]:
    """The document marked deleted (restorable)."""
    return bump({**doc, "deleted_at": now}, now)


def restored(doc: Mapping[str, Any], now: str) -> dict[str, Any]:
    """The document no longer marked deleted."""
    return bump({**doc, "deleted_at": None}, now)


def anonymized(doc: Mapping[str, Any], now: str) -> dict[str, Any]:
    """The document stripped of personal data; id, tenant and creation time are kept."""
    erased = {**doc, **_ERASED_FIELDS}
    erased.update(name=ERASED_NAME, tags=[], tags_norm=[], custom_fields={}, erased_at=now)
    return bump(erased, now)


def is_live(doc: Mapping[str, Any]) -> bool:
    """Neither soft-deleted nor erased."""
    return doc.get("deleted_at") is None and doc.get("erased_at") is None


def public_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The fields clients see (no tenant, no derived search fields)."""
    return {field: doc.get(field) for field in PUBLIC_FIELDS}


def profile_snapshot(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The profile fields a ContactCreated event carries."""
    return {
        "name": doc["name"],
        "email": doc.get("email"),
        "phone": doc.get("phone"),
        "company": doc.get("company"),
        "timezone": doc.get("timezone"),
        "tags": list(doc.get("tags", ())),
        "custom_fields": dict(doc.get("custom_fields", {})),
    }


def identity_hashes(
    key: bytes, *, email: str | None, phone: str | None, phone_raw: str | None = None
) -> list[str]:
    """Suppression hashes of a person's email and phone (E.164 and, if it differs, as typed)."""
    hashes: list[str] = []
    if email:
        hashes.append(identifier_hash(key, "email", email))
    if phone:
        hashes.append(identifier_hash(key, "phone", phone))
    if phone_raw and phone_raw != phone and normalize_phone(phone_raw) not in ("", phone):
        hashes.append(identifier_hash(key, "phone", phone_raw))
    return hashes


def unique(values: Iterable[str]) -> list[str]:
    """Values in first-seen order without repeats."""
    return list(dict.fromkeys(values))
