"""Applying an import batch: one transaction, one look-up per batch, two events per batch."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from crm_contacts.adapters.repository import ContactRepository, SuppressionRepository
from crm_contacts.domain.contact import unique
from crm_contacts.domain.importing import PreparedRow, plan_batch, prepare_rows
from crm_contacts.service_layer.account_links import link_import_batch
from crm_contacts.service_layer.contact_policy import load_policy, record_new_tags
from crm_contacts.settings import ContactsSettings
from crm_shared.clock import now_iso
from crm_shared.events import ContactsImported, ImportBatchProcessed, ImportContactsBatch
from crm_shared.ids import new_id
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)

CONSUMER = "contacts.import"


def _tag_names(prepared: list[PreparedRow], targets: Iterable[dict[str, Any]]) -> list[str]:
    names = [tag for p in prepared if p.profile for tag in p.profile.get("tags") or ()]
    names += [tag for doc in targets for tag in doc.get("tags") or ()]
    return unique(names)


class ConcurrentUpdateError(RuntimeError):
    """A contact changed between the batch's read and its write; the batch is retried."""


async def import_batch(
    store: DocumentStore,
    batch: ImportContactsBatch,
    *,
    tenant: str,
    settings: ContactsSettings,
    event_id: str,
) -> list[dict[str, Any]] | None:
    """Apply a batch under its duplicate policy; None if this event was already handled."""
    # Validation is pure CPU work: done before taking the write lock.
    prepared = prepare_rows(
        batch.rows,
        region=settings.crm_default_region,
        suppression_key=settings.suppression_key,
    )
    actor = f"import:{batch.job_id}"
    async with store.transaction() as session:
        if not await session.mark_processed(CONSUMER, event_id):
            return None
        contacts = ContactRepository(session, tenant)
        emails = unique(
            p.profile["email"] for p in prepared if p.profile and p.profile.get("email")
        )
        existing = (
            await contacts.live_by_emails(emails)
            if emails and batch.on_duplicate != "create"
            else {}
        )
        hashes = [h for p in prepared for h in p.hashes]
        suppressed = (
            await SuppressionRepository(session, tenant).suppressed(hashes) if hashes else set()
        )
        # The tenant's custom fields, tag rules and the batch's tags: read once per batch.
        rules = await load_policy(
            session, tenant, tag_names=_tag_names(prepared, existing.values())
        )
        now = now_iso()
        plan = plan_batch(
            prepared,
            tenant=tenant,
            policy=batch.on_duplicate,
            existing_by_email=existing,
            suppressed=suppressed,
            now=now,
            new_id=new_id,
            rules=rules,
        )
        await record_new_tags(session, tenant, rules)
        account_events = await link_import_batch(session, tenant, plan, now=now, actor=actor)
        await contacts.add_many(plan.inserts)
        if not await contacts.save_many(list(plan.replacements.values())):
            raise ConcurrentUpdateError(f"a contact of import {batch.job_id} changed meanwhile")
        processed = ImportBatchProcessed(
            job_id=batch.job_id, batch_no=batch.batch_no, results=plan.results
        )
        events = [
            outgoing(
                processed, source=CONTACTS_SOURCE, tenant=tenant, key=batch.job_id, actor=actor
            )
        ]
        events += account_events
        if plan.imported:
            imported = ContactsImported(
                job_id=batch.job_id, batch_no=batch.batch_no, contacts=plan.imported
            )
            events.append(
                outgoing(
                    imported, source=CONTACTS_SOURCE, tenant=tenant, key=batch.job_id, actor=actor
                )
            )
        await session.add_events(events)
    log.info(
        "import %s batch %d: %d rows, %d created, %d updated",
        batch.job_id,
        batch.batch_no,
        len(prepared),
        len(plan.inserts),
        len(plan.replacements),
    )
    return plan.results
