"""The suppression list: keyed hashes of erased people's identifiers; list, check and lift.

Every entry channel asks `suppressed_identifiers` (the API and imports through their handlers,
chat, forms and integrations through `POST /v1/suppressions/check`), so an erased person is
refused or reported wherever their email or phone comes back in.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from crm_contacts.adapters.repository import SuppressionRepository
from crm_shared.clock import now_iso
from crm_shared.events import SuppressionLifted
from crm_shared.identity import PersonIdentifiers, person_hashes
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.problems import NotFound
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)


async def suppressed_identifiers(
    store: DocumentStore,
    *,
    tenant: str,
    emails: Sequence[str],
    phones: Sequence[str],
    suppression_key: bytes,
    region: str,
) -> list[str]:
    """The keyed hashes of these emails and phones that are suppressed (empty: all clear)."""
    hashes = person_hashes(
        suppression_key,
        PersonIdentifiers(emails=tuple(emails), phones=tuple(phones)),
        region=region,
    )
    if not hashes:
        return []
    async with store.reader() as session:
        found = await SuppressionRepository(session, tenant).suppressed(hashes)
    return [h for h in hashes if h in found]


async def suppression_page(
    store: DocumentStore, *, tenant: str, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """One page of the tenant's suppression list, in hash order."""
    async with store.reader() as session:
        return await SuppressionRepository(session, tenant).page(after=after, limit=limit)


async def lift_suppression(
    store: DocumentStore, *, tenant: str, identifier_hash: str, reason: str, actor: str
) -> None:
    """Take one hash off the list and publish SuppressionLifted (the audit log records it)."""
    async with store.transaction() as session:
        suppressions = SuppressionRepository(session, tenant)
        entry = await suppressions.get(identifier_hash)
        if entry is None:
            raise NotFound("no suppression with this hash")
        await suppressions.remove(identifier_hash)
        event = SuppressionLifted(
            identifier_hash=identifier_hash, reason=reason, suppressed_at=entry.get("created_at")
        )
        await session.add_events(
            [
                outgoing(
                    event, source=CONTACTS_SOURCE, tenant=tenant, key=identifier_hash, actor=actor
                )
            ]
        )
    log.info("suppression lifted at %s by %s", now_iso(), actor)
