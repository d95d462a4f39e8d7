"""Identity resolution for every source: one handler that finds, updates or creates a contact.

Chat (visitor identified), forms, integrations (HTTP and the upsert topic) and find-or-create
by email all call `resolve_in`, inside the caller's transaction so what the caller adds (a
conversation link, a form's consents) commits with the contact. The rules are in
`domain/resolution.py`; candidates come from the matching engine's `CandidateFinder`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_contacts.adapters.duplicates import CandidateFinder
from crm_contacts.adapters.repository import SuppressionRepository
from crm_contacts.domain.contact import Source
from crm_contacts.domain.resolution import (
    Arrival,
    ExternalRef,
    new_contact_profile,
    oldest,
    resolve_update,
    written_times,
)
from crm_contacts.domain.validation import validate_profile
from crm_contacts.service_layer.handlers import (
    apply_create,
    apply_update,
    check_version,
    refuse_suppressed,
)
from crm_contacts.settings import ContactsSettings
from crm_shared.clock import iso, now_iso
from crm_shared.problems import PreconditionFailed
from crm_shared.storage import DocumentStore, Session

# Holders of one identifier read per step (the oldest wins; more would be a data problem).
_HOLDERS = 50


@dataclass(frozen=True)
class Resolved:
    """The contact a person resolved to, and whether it was created by this arrival."""

    contact: dict[str, Any]
    created: bool


def arrival_of(
    fields: Mapping[str, Any],
    *,
    source: Source,
    settings: ContactsSettings,
    occurred_at: datetime | None = None,
    external: ExternalRef | None = None,
) -> Arrival:
    """A validated arrival (422 naming each bad field); blank values are dropped, not cleared."""
    present = {name: value for name, value in fields.items() if value is not None}
    profile = validate_profile(present, region=settings.crm_default_region)
    return Arrival(
        source=source,
        profile=profile,
        occurred_at=iso(occurred_at) if occurred_at is not None else now_iso(),
        external=external,
    )


async def find_resolved(session: Session, tenant: str, arrival: Arrival) -> dict[str, Any] | None:
    """The live contact the arrival is: by external id, then email, then phone; oldest first."""
    finder = CandidateFinder(session, tenant)
    for keys in arrival.lookup_steps():
        found = await finder.by_keys(keys, limit=_HOLDERS)
        if found:
            return dict(oldest(found))
    return None


async def resolve_in(
    session: Session,
    tenant: str,
    arrival: Arrival,
    *,
    actor: str,
    settings: ContactsSettings,
    expected_version: int | None = None,
) -> Resolved:
    """Update the contact the arrival resolves to, or create one when nothing matches.

    409 when any of its emails or phones belongs to an erased person (nothing is written);
    412 when `expected_version` is given and the contact is not at it (or does not exist).
    """
    if arrival.profile:
        await refuse_suppressed(SuppressionRepository(session, tenant), settings, arrival.profile)
    found = await find_resolved(session, tenant, arrival)
    if found is None:
        if expected_version is not None:
            raise PreconditionFailed("If-Match names a version, but no contact matches")
        profile = new_contact_profile(arrival)
        stamp = {"field_times": written_times(profile, arrival.occurred_at)}
        doc = await apply_create(
            session,
            tenant,
            profile,
            source=arrival.source,
            actor=actor,
            settings=settings,
            allow_duplicate=True,
            stamp=stamp,
        )
        return Resolved(doc, created=True)
    check_version(found, expected_version)
    change = resolve_update(found, arrival)
    updated = await apply_update(
        session,
        tenant,
        found,
        change.profile,
        actor=actor,
        settings=settings,
        stamp={"field_times": change.field_times},
    )
    return Resolved(updated, created=False)


async def resolve_contact(
    store: DocumentStore,
    arrival: Arrival,
    *,
    tenant: str,
    actor: str,
    settings: ContactsSettings,
    expected_version: int | None = None,
) -> Resolved:
    """`resolve_in` in its own unit of work (the HTTP upserts)."""
    async with store.transaction() as session:
        return await resolve_in(
            session,
            tenant,
            arrival,
            actor=actor,
            settings=settings,
            expected_version=expected_version,
        )


async def contact_by_external_id(
    store: DocumentStore, ref: ExternalRef, *, tenant: str
) -> dict[str, Any] | None:
    """The live contact holding this external id, or None."""
    async with store.reader() as session:
        found = await CandidateFinder(session, tenant).by_keys([ref.match_key], limit=_HOLDERS)
    return dict(oldest(found)) if found else None
