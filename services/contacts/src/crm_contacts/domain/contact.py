"""The contact document: its shape, derived search fields, changes, deletion and erasure."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Literal

from crm_contacts.domain.contact_doc import AnyContactDoc, ContactDoc, writable
from crm_contacts.domain.matching.profile import match_keys
from crm_contacts.domain.text import fold
from crm_contacts.domain.validation import merge_tags
from crm_shared.contact_fields import (
    ERASED_FIELDS,
    FIELDS_BY_NAME,
    PROFILE_FIELDS,
    PUBLIC_FIELDS,
    RETIRED_DERIVED_FIELDS,
)
from crm_shared.text import search_fold

Source = Literal["manual", "chat", "form", "integration", "import"]
ERASED_NAME = "Erased contact"
_PUBLIC = tuple(FIELDS_BY_NAME[name] for name in PUBLIC_FIELDS)
_PROFILE = tuple(FIELDS_BY_NAME[name] for name in PROFILE_FIELDS)
_ERASED = tuple(FIELDS_BY_NAME[name] for name in ERASED_FIELDS)
Changes = dict[str, tuple[Any, Any]]


def search_text(doc: Mapping[str, Any]) -> str:
    """The folded text `q` searches: name, emails, phones (also as typed, in digits), company."""
    parts = [doc.get(f) for f in ("name", "email", "phone", "phone_raw", "company")]
    for many in ("emails", "phones", "phones_raw"):
        parts.extend(doc.get(many) or ())
    # Typed phones in digits too, so "020 7946" and "0207946" both find "020-7946-0958".
    typed = [doc.get("phone_raw"), *(doc.get("phones_raw") or ())]
    parts.extend(_digits(raw) for raw in typed if raw)
    present = [p for p in parts if p]
    joined = " ".join(present)
    if joined.isascii():
        # Folding ASCII text part by part equals folding the joined text once (search_fold's
        # ASCII path), which skips a cache look-up per part (an import calls this per row).
        return " ".join(joined.lower().split())
    # Folded as queries are (text_query), transliterating too: "odegaard" finds "Ødegaard".
    # Only the parts that are not ASCII need search_fold: the others (emails, phones, most
    # companies) fold as above, without a cache look-up (and a miss) each.
    words: list[str] = []
    for part in present:
        if part.isascii():
            words += part.lower().split()
        elif folded := search_fold(part):
            words.append(folded)
    return " ".join(words)


def held_search_text(doc: Mapping[str, Any]) -> str:
    """The `search_text` the store holds (derived_fields.STORE_DERIVED): none once erased, so
    no text search finds an erased contact, not even by its placeholder name."""
    return "" if doc.get("erased_at") is not None else search_text(doc)


_NON_DIGITS = re.compile(r"[^0-9]")


def _digits(raw: str) -> str:
    """The digits of `raw` (str.isdigit digits, which are 0-9 only in ASCII text)."""
    if raw.isascii():
        return _NON_DIGITS.sub("", raw)
    return "".join(ch for ch in raw if ch.isdigit())


# The fields `search_text` and `match_keys` are computed from (`name_sort` reads the name,
# `tags_norm` the tags): a change that touches none of a derived field's inputs leaves it as it
# was, so `apply_profile` recomputes only the ones its change reaches.
SEARCH_TEXT_INPUTS = frozenset(
    {"name", "email", "phone", "phone_raw", "company", "emails", "phones", "phones_raw"}
)
MATCH_KEY_INPUTS = frozenset({"name", "email", "emails", "phone", "phones", "external_ids"})
# What the store computes `match_keys` from (derived_fields.STORE_DERIVED): erasure empties them.
MATCH_KEY_READS = (*sorted(MATCH_KEY_INPUTS), "erased_at")
# What the store computes `search_text` from.
SEARCH_TEXT_READS = (*sorted(SEARCH_TEXT_INPUTS), "erased_at")
_EVERY_INPUT = SEARCH_TEXT_INPUTS | MATCH_KEY_INPUTS | {"tags"}


def refresh_derived(doc: AnyContactDoc, changed: Collection[str] | None = None) -> AnyContactDoc:
    """Recompute the derived fields that duplicate checks, filters, search and sorting query.

    `changed`: the fields a change set, when the document's derived fields were current before
    it; only the derived fields read from those are recomputed (all of them without it).
    """
    # Stored by older code, read by nothing (see RETIRED_DERIVED_FIELDS): ~90 bytes a contact.
    for retired in RETIRED_DERIVED_FIELDS:
        doc.pop(retired, None)  # type: ignore[misc]
    if changed is None:
        changed = _EVERY_INPUT
    if "tags" in changed or "tags_norm" not in doc:
        refresh_tags_derived(doc)
    if not SEARCH_TEXT_INPUTS.isdisjoint(changed) or "search_text" not in doc:
        doc["search_text"] = search_text(doc)
    if "name" in changed or "name_sort" not in doc:
        # Folded as searches are: a query too short for the text index is a prefix of it.
        doc["name_sort"] = search_fold(doc.get("name") or "")
    if not MATCH_KEY_INPUTS.isdisjoint(changed) or "match_keys" not in doc:
        doc["match_keys"] = contact_match_keys(doc)
    return doc


def contact_match_keys(doc: Mapping[str, Any]) -> list[str]:
    """A contact's `match_keys`: emails, phones, external ids and name blocks, what finds its
    duplicate candidates (none once erased: the placeholder name must not block erased ones)."""
    return match_keys(doc) if doc.get("erased_at") is None else []


def tags_norm(doc: Mapping[str, Any]) -> list[str]:
    """A contact's `tags_norm`: its tags folded, as tag filters compare them."""
    return [fold(t) for t in doc.get("tags") or ()]


# Fields no derived field reads except `tags_norm`: a change to these alone (a rewrite job's)
# refreshes only that, not the match keys and search text (most of a rewrite's CPU).
TAG_AND_VALUE_FIELDS = frozenset({"tags", "custom_fields"})


def refresh_tags_derived(doc: AnyContactDoc) -> AnyContactDoc:
    """Recompute what follows from the tags alone: tag names compare folded."""
    doc["tags_norm"] = tags_norm(doc)
    return doc


def new_contact(
    *, contact_id: str, tenant: str, profile: Mapping[str, Any], source: str, now: str
) -> ContactDoc:
    """A version-1 contact document from a validated profile."""
    given = without_primary({}, profile)
    doc: ContactDoc = {
        "id": contact_id,
        "version": 1,
        "name": given.get("name", ""),
        "email": given.get("email"),
        "phone": given.get("phone"),
        "phone_raw": given.get("phone_raw"),
        "company": given.get("company"),
        "timezone": given.get("timezone"),
        "tags": given.get("tags", []),
        "custom_fields": given.get("custom_fields", {}),
        "emails": given.get("emails", []),
        "phones": given.get("phones", []),
        "phones_raw": given.get("phones_raw", []),
        "owner": given.get("owner"),
        "account_id": given.get("account_id"),
        "external_ids": dict(given.get("external_ids") or {}),
        "sources": [source],
        "campaigns": [],
        "source": source,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
        "tenant": tenant,
        "erased_at": None,
        "merged_into": None,
        "field_times": {},
        "tags_norm": [],
        "search_text": "",
        "name_sort": "",
        "match_keys": [],
        "import_ids": [],
        "consents_granted": [],
    }
    return refresh_derived(doc)


def without_primary(doc: Mapping[str, Any], profile: Mapping[str, Any]) -> Mapping[str, Any]:
    """The profile whose additional emails and phones leave out the (new or kept) primary ones."""
    emails = profile.get("emails", doc.get("emails"))
    if not emails and not profile.get("phones", doc.get("phones")):
        return profile  # no additional ones (every import row): nothing to leave out
    fields = profile.keys()
    adjusted = dict(profile)
    if fields & {"email", "emails"}:
        email = profile.get("email", doc.get("email"))
        kept_emails = [e for e in emails or () if e != email]
        if "emails" in profile or len(kept_emails) != len(emails or ()):
            adjusted["emails"] = kept_emails
    if fields & {"phone", "phones"}:
        phone = profile.get("phone", doc.get("phone"))
        phones = profile.get("phones", doc.get("phones") or [])
        typed = profile.get("phones_raw", doc.get("phones_raw") or [])
        kept = [i for i, number in enumerate(phones) if number != phone]
        if "phones" in profile or len(kept) != len(phones):
            adjusted["phones"] = [phones[i] for i in kept]
            adjusted["phones_raw"] = [typed[i] if i < len(typed) else phones[i] for i in kept]
    return adjusted


def apply_profile(
    doc: AnyContactDoc,
    profile: Mapping[str, Any],
    *,
    merge_tags_: bool = False,
    merge_custom_fields: bool = True,
) -> tuple[AnyContactDoc, Changes]:
    """The document with a validated (partial) profile applied, and what actually changed.

    Custom fields merge key by key (auto-save sends one at a time) unless told to replace; tags
    replace unless told to merge (imports merge them). A phone that formats to the same E.164
    number is no change, so its original spelling is kept.
    """
    updated = doc.copy()
    # Read and written by the profile's field names: the same dicts, untyped.
    original, fields = writable(doc), writable(updated)
    changes: Changes = {}
    profile = without_primary(doc, profile)
    for field, value in profile.items():
        if field in ("phone_raw", "phones_raw"):
            continue
        before = original.get(field)
        after = value
        if field == "tags" and merge_tags_:
            after = merge_tags(before or [], value)
        elif field == "custom_fields" and merge_custom_fields:
            # A cleared (None) custom value is removed, so "has a value" means "has the key".
            merged = {**(before or {}), **value}
            after = {key: item for key, item in merged.items() if item is not None}
        if after != before:
            changes[field] = (before, after)
            fields[field] = after
            if field == "phone":
                updated["phone_raw"] = profile.get("phone_raw")
            elif field == "phones":
                updated["phones_raw"] = profile.get("phones_raw", [])
    if changes:
        # Only what the change reaches: an import that moves a contact to another company
        # leaves its match keys and sort name as they were (a third of the derived work).
        refresh_derived(updated, changes.keys())
    return updated, changes


def bump(doc: AnyContactDoc, now: str) -> AnyContactDoc:
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
    erased = {**doc, **{field.name: field.empty for field in _ERASED}}
    erased.update(name=ERASED_NAME, erased_at=now)
    refresh_derived(erased)
    erased["search_text"] = ""  # found by no text search, not even by the placeholder name
    return bump(erased, now)


def is_live(doc: Mapping[str, Any]) -> bool:
    """Neither soft-deleted nor erased."""
    return doc.get("deleted_at") is None and doc.get("erased_at") is None


def public_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The fields clients see (no tenant, no derived search fields).

    A field missing from a document written before it existed reads as empty.
    """
    # `field.empty` builds a fresh value: asked only for a field the document lacks (an export
    # reads this for every contact, nearly all of them holding every field).
    return {f.name: doc[f.name] if f.name in doc else f.empty for f in _PUBLIC}  # noqa: SIM401


def profile_snapshot(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The profile fields a ContactCreated event carries (lists and objects copied)."""
    snapshot: dict[str, Any] = {}
    for field in _PROFILE:
        value = doc.get(field.name)
        if field.shape == "list":
            value = list(value or ())
        elif field.shape == "map":
            value = dict(value or {})
        snapshot[field.name] = value
    return snapshot


def unique(values: Iterable[str]) -> list[str]:
    """Values in first-seen order without repeats."""
    return list(dict.fromkeys(values))
