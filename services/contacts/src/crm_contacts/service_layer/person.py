"""Resolving a data subject: from ids, emails and phones to every record of the person.

Each record found brings its own emails and phones, its merge partners and the contact it was
merged into, until nothing new turns up; so a soft-deleted duplicate that shares one address
with a live record, or a contact merged into another, is part of the answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from crm_contacts.adapters.person_records import PersonRecordFinder
from crm_contacts.domain.person import (
    MAX_PERSON_RECORDS,
    PersonRecord,
    ResolvePerson,
    identifiers_of,
    person_record,
    selector_identifiers,
)
from crm_shared.identity import PersonIdentifiers, person_hashes
from crm_shared.problems import Unprocessable
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PersonResolution:
    """The records of the person and the keyed hashes of every identifier they hold."""

    records: list[PersonRecord]
    identifier_hashes: list[str]
    # The stored documents by id, for an access request's bundle.
    documents: dict[str, dict[str, Any]]


async def resolve_person(
    store: DocumentStore,
    query: ResolvePerson,
    *,
    tenant: str,
    suppression_key: bytes,
    region: str,
) -> PersonResolution:
    """Every record of the person in the tenant, transitively; 422 past MAX_PERSON_RECORDS."""
    emails, phones = selector_identifiers(query.emails, query.phones, region=region)
    found: dict[str, dict[str, Any]] = {}
    seen_emails: set[str] = set()
    seen_phones: set[str] = set()
    pending_ids = set(query.contact_ids)
    async with store.reader() as session:
        finder = PersonRecordFinder(session, tenant)
        while pending_ids or emails or phones:
            docs = await finder.by_ids(sorted(pending_ids)) if pending_ids else []
            if emails or phones:
                docs += await finder.by_identifiers(emails=emails, phones=phones)
            seen_emails.update(emails)
            seen_phones.update(phones)
            new_docs = [doc for doc in docs if doc["id"] not in found]
            for doc in new_docs:
                found[doc["id"]] = doc
            if len(found) > MAX_PERSON_RECORDS:
                raise Unprocessable(
                    f"the request reaches more than {MAX_PERSON_RECORDS} records; "
                    "name fewer contacts"
                )
            emails, phones = _unseen_identifiers(new_docs, seen_emails, seen_phones)
            linked = {doc["merged_into"] for doc in new_docs if doc.get("merged_into")}
            linked |= await finder.merge_partners([doc["id"] for doc in new_docs])
            pending_ids = {cid for cid in linked if cid not in found}
    hashes = person_hashes(
        suppression_key,
        PersonIdentifiers(
            emails=tuple(sorted(seen_emails)),
            e164=tuple(sorted(seen_phones)),
            typed=tuple(_typed_phones(found.values())),
        ),
        region=region,
    )
    records = [person_record(doc) for doc in sorted(found.values(), key=lambda d: str(d["id"]))]
    log.info("person resolved to %d record(s)", len(records))
    return PersonResolution(records=records, identifier_hashes=hashes, documents=found)


def _unseen_identifiers(
    docs: list[dict[str, Any]], seen_emails: set[str], seen_phones: set[str]
) -> tuple[list[str], list[str]]:
    emails: dict[str, None] = {}
    phones: dict[str, None] = {}
    for doc in docs:
        doc_emails, doc_phones = identifiers_of(doc)
        emails.update((e, None) for e in doc_emails if e not in seen_emails)
        phones.update((p, None) for p in doc_phones if p not in seen_phones)
    return list(emails), list(phones)


def _typed_phones(docs: Any) -> list[str]:
    # Phones as typed are hashed too: a failed import row holds them that way.
    typed: dict[str, None] = {}
    for doc in docs:
        for raw in (doc.get("phone_raw"), *(doc.get("phones_raw") or ())):
            if isinstance(raw, str) and raw.strip():
                typed[raw] = None
    return list(typed)
