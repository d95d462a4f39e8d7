"""Repositories over the storage session: every contacts query lives here, tenant-scoped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from crm_contacts.adapters.consents import CONSENT_SPECS
from crm_contacts.adapters.custom_fields import CUSTOM_FIELDS_SPEC
from crm_contacts.adapters.derived_backfill import BACKFILL_SPECS
from crm_contacts.adapters.duplicates import MATCHING_SPECS
from crm_contacts.adapters.import_batches import IMPORT_BATCH_SPECS
from crm_contacts.adapters.import_cancellations import CANCELLATION_SPECS
from crm_contacts.adapters.tags import TAG_SPECS
from crm_contacts.domain.derived_fields import STORE_DERIVED
from crm_contacts.domain.matching.profile import EMAIL_KEY
from crm_shared.contact_fields import FIELDS
from crm_shared.idempotency_records import IDEMPOTENCY_COLLECTION
from crm_shared.ids import new_id
from crm_shared.rate_limit_store import RATE_LIMIT_COLLECTION
from crm_shared.storage import (
    CollectionSpec,
    Contains,
    ContainsAny,
    Empty,
    Eq,
    In,
    Index,
    Range,
    Session,
    Where,
)

CONTACTS = "contacts"
SUPPRESSIONS = "suppressions"
ACCOUNTS = "accounts"
# Soft deletions of every tenant, under the reserved tenant "" (see adapters/deletions.py).
DELETIONS = "deletions"
# Merge records (adapters/merges.py); `contact_ids` finds the merges a contact took part in.
MERGES = "merges"

# What listing and search read pages from (domain/search.py; the SQLite adapter reads a page off
# the index of the first equality on an indexed field, so no index on `source`: five values, and
# forcing one would sort most of a tenant). The "array"/"object" ones are indexed value by value:
# every email, every tag, and every custom field's values whatever the keys (one index for all
# tenants' fields, none to create when a field is defined).
# Every email of a contact is found through its `match_keys` (`e:<email>`, adapters/
# duplicates.py): a second multi-value index on `emails_norm` held the same values again, about
# 110 bytes per email on SQLite.
SEARCH_INDEXES: tuple[Index, ...] = (
    Index(("tags_norm",), multi_value="array"),
    Index(("custom_fields",), multi_value="object"),
    Index(("owner",)),
    # Sorts and ranges only (no equality on them): SQLite leaves the trailing id out of them.
    Index(("created_at",), sort_only=True),
    Index(("updated_at",), sort_only=True),
    Index(("name_sort",), sort_only=True),
    # `q`: name, every email and phone (also in digits) and company, folded (domain/contact.py).
    Index(("search_text",), text=True),
)

# Indexes of earlier versions, dropped from stores that still have them: every email and phone
# is found through the match keys now (see `holding_email`); no query read the `phone` index.
RETIRED_INDEXES: tuple[Index, ...] = (
    Index(("emails_norm",), multi_value="array"),
    Index(("email_norm",)),
    Index(("phone",)),
)

# Every field of a stored contact (the shared field table), with its empty value: most are empty
# for most contacts (no merge, no deletion, no second phone...), and a store may leave those out
# of what it writes (SQLite does); reads give them back.
CONTACT_EMPTIES: tuple[Empty, ...] = tuple(
    Empty(field.name, field.shape) for field in FIELDS if field.name not in ("id", "tenant")
)

# A contact's timestamps (canonical text, `clock.iso`): SQLite stores them as integers, 8 bytes
# in each index entry instead of 27 (sqlite_stamps.py). `field_times` holds timestamps too, as
# the values of a map: not declared, since only top-level fields are (no query reads it).
# Nor is a field a store-derived one reads (`erased_at`, for the match keys): SQL would hand the
# derivation the integer (port.refuse_derived_stamps); it is null for nearly every contact and
# in no index, so it costs nothing as text.
CONTACT_TIMESTAMPS: tuple[str, ...] = tuple(
    field.name
    for field in FIELDS
    if field.kind == "timestamp"
    and field.shape == "one"
    and not any(field.name in d.reads for d in STORE_DERIVED)
)

COLLECTION_SPECS: tuple[CollectionSpec, ...] = (
    CollectionSpec(
        CONTACTS,
        # No index on `email_norm` or `phone`: look-ups by an email or a phone read the match
        # keys (`holding_email`, `p:<phone>`). `deleted_at` is empty for most contacts: only the
        # deleted ones are indexed.
        indexes=(Index(("deleted_at",), sparse=True),),
        empties=CONTACT_EMPTIES,
        # The match keys and folded tags: computed by the store for its indexes, never stored
        # in SQLite's JSON, read back only by projections that name them.
        derived=STORE_DERIVED,
        timestamps=CONTACT_TIMESTAMPS,
    ),
    CollectionSpec(CONTACTS, indexes=SEARCH_INDEXES, retired=RETIRED_INDEXES),
    CollectionSpec(SUPPRESSIONS, indexes=(Index(("hash",), unique=True),)),
    # Accounts: one per folded name; contacts link to them by `account_id` (additional emails
    # are looked up through the match keys, `holding_email`).
    CollectionSpec(CONTACTS, indexes=(Index(("account_id",), sparse=True),)),
    CollectionSpec(ACCOUNTS, indexes=(Index(("name_folded",), unique=True), Index(("domain",)))),
    CollectionSpec(
        DELETIONS,
        indexes=(Index(("deleted_at",)), Index(("contact_tenant", "deleted_at"))),
        timestamps=("deleted_at",),
    ),
    CUSTOM_FIELDS_SPEC,
    *TAG_SPECS,
    *MATCHING_SPECS,
    CollectionSpec(MERGES, indexes=(Index(("contact_ids",), multi_value="array"),)),
    # The `import_id` filter: the imports that created or changed each contact.
    CollectionSpec(CONTACTS, indexes=(Index(("import_ids",), multi_value="array"),)),
    *CANCELLATION_SPECS,
    IDEMPOTENCY_COLLECTION,
    RATE_LIMIT_COLLECTION,
    *IMPORT_BATCH_SPECS,
    *CONSENT_SPECS,
    *BACKFILL_SPECS,
)

# Bound the number of values per In query (SQLite caps bound parameters per statement).
_IN_CHUNK = 500
# A batch's email look-up returns every live contact with those emails, duplicates included.
_NO_LIMIT = 10_000_000
_LIVE: tuple[Where, ...] = (Eq("deleted_at", None), Eq("erased_at", None))
# Look-ups by a field are ordered by that field (then id): ordered by id alone, SQLite's planner
# walks the whole tenant in primary-key order instead of using the field's index.


def holding_email(email: str) -> Contains:
    """The contacts holding this normalized email, primary or not (off the match keys' index)."""
    return Contains("match_keys", EMAIL_KEY + email)


def holding_any_email(emails: Sequence[str]) -> ContainsAny:
    """The contacts holding any of these normalized emails, primary or not."""
    return ContainsAny("match_keys", tuple(EMAIL_KEY + e for e in emails))


def _chunks(values: Sequence[str]) -> Iterable[tuple[str, ...]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield tuple(values[start : start + _IN_CHUNK])


class ContactRepository:
    """Contacts of one tenant."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get(self, contact_id: str) -> dict[str, Any] | None:
        """The contact with this id in this tenant, whatever its state."""
        return await self._session.get(CONTACTS, tenant=self._tenant, id=contact_id)

    async def live_with_email(
        self, email: str, *, other_than: str | None = None
    ) -> dict[str, Any] | None:
        """The oldest live contact with this normalized email (other than `other_than`)."""
        found = await self._session.find(
            CONTACTS,
            tenant=self._tenant,
            where=(holding_email(email), Eq("email", email), *_LIVE),
            limit=2,
        )
        return next((doc for doc in found if doc["id"] != other_than), None)

    async def live_by_emails(self, emails: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The oldest live contact per normalized email, one query per 500 emails."""
        by_email: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(emails):
            found = await self._session.find(
                CONTACTS,
                tenant=self._tenant,
                where=(holding_any_email(chunk), In("email", chunk), *_LIVE),
                limit=_NO_LIMIT,
            )
            for doc in found:  # ids ascend within an email: the oldest contact wins
                by_email.setdefault(doc["email"], doc)
        return by_email

    async def add(self, doc: dict[str, Any]) -> None:
        """Insert a new contact."""
        await self._session.insert(CONTACTS, doc)

    async def add_many(self, docs: Sequence[dict[str, Any]]) -> None:
        """Insert new contacts in one statement batch."""
        if docs:
            await self._session.insert_many(CONTACTS, docs)

    async def save_many(self, docs: Sequence[dict[str, Any]]) -> bool:
        """Replace many live contacts read in this same transaction; False if one went missing.

        The port has no bulk replace and one UPDATE per contact costs ~75 µs on SQLite (a thread
        hop each), so a bulk import deletes and re-inserts them: two statements per 500. The
        transaction that read them makes this as safe as a version-guarded replace.
        """
        ids = [doc["id"] for doc in docs]
        removed = 0
        for chunk in _chunks(ids):
            removed += await self._session.delete_where(
                CONTACTS, tenant=self._tenant, where=(In("id", chunk), *_LIVE)
            )
        if removed != len(ids):
            return False
        await self.add_many(docs)
        return True

    async def save_all(
        self, docs: Sequence[dict[str, Any]], *, expected_versions: Sequence[int]
    ) -> bool:
        """Replace contacts, each if it still has its expected version, in one statement batch;
        False if one went missing or another write won (roll back and read again)."""
        if not docs:
            return True
        replaced = await self._session.replace_many(
            CONTACTS, docs, expected_versions=expected_versions
        )
        return replaced == len(docs)

    async def save(self, doc: dict[str, Any], *, expected_version: int) -> bool:
        """Replace a contact if it still has `expected_version`; False if another write won."""
        return await self._session.replace(CONTACTS, doc, expected_version=expected_version)


class SuppressionRepository:
    """Keyed hashes of erased people's identifiers, per tenant."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def suppressed(self, hashes: Sequence[str]) -> set[str]:
        """Those of `hashes` that are on the suppression list."""
        found: set[str] = set()
        for chunk in _chunks(list(dict.fromkeys(hashes))):
            docs = await self._session.find(
                SUPPRESSIONS,
                tenant=self._tenant,
                where=(In("hash", chunk),),
                order_by="hash",
                limit=len(chunk),
            )
            found.update(doc["hash"] for doc in docs)
        return found

    async def add(self, hashes: Sequence[str], *, now: str, reason: str) -> int:
        """Add the hashes not yet listed; return how many were new."""
        known = await self.suppressed(hashes)
        new = [h for h in dict.fromkeys(hashes) if h not in known]
        docs = [
            {"id": new_id(), "tenant": self._tenant, "hash": h, "reason": reason, "created_at": now}
            for h in new
        ]
        if docs:
            await self._session.insert_many(SUPPRESSIONS, docs)
        return len(docs)

    async def get(self, identifier_hash: str) -> dict[str, Any] | None:
        """The entry of one hash, or None."""
        found = await self._session.find(
            SUPPRESSIONS, tenant=self._tenant, where=(Eq("hash", identifier_hash),), limit=1
        )
        return found[0] if found else None

    async def remove(self, identifier_hash: str) -> int:
        """Take one hash off the list; how many entries went (0 or 1)."""
        return await self._session.delete_where(
            SUPPRESSIONS, tenant=self._tenant, where=(Eq("hash", identifier_hash),)
        )

    async def page(self, *, after: str | None, limit: int) -> list[dict[str, Any]]:
        """Entries in hash order, after the hash `after`."""
        return await self._session.find(
            SUPPRESSIONS,
            tenant=self._tenant,
            where=(Range("hash", gt=after),) if after is not None else (),
            order_by="hash",
            limit=limit,
        )
