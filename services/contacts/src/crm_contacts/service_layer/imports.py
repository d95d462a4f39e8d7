"""Applying an import batch: one transaction, one look-up per batch, an event per contact."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from crm_contacts.adapters.duplicates import CandidateFinder, queue_rematch
from crm_contacts.adapters.import_batches import record_results
from crm_contacts.adapters.import_cancellations import ImportCancellations
from crm_contacts.adapters.repository import ContactRepository, SuppressionRepository
from crm_contacts.domain.contact import unique
from crm_contacts.domain.contact_policy import ContactPolicy
from crm_contacts.domain.import_marks import mark_imported
from crm_contacts.domain.importing import (
    BatchPlan,
    ExistingContacts,
    PreparedRow,
    existing_by_identifiers,
    match_keys,
    not_yet_found,
    plan_batch,
    prepare_rows,
)
from crm_contacts.domain.matching import rematch_needed
from crm_contacts.service_layer.account_links import link_import_batch
from crm_contacts.service_layer.contact_policy import load_policy, record_new_tags
from crm_contacts.service_layer.import_answers import (
    answer_again,
    answer_cancelled,
    processed_event,
)
from crm_contacts.service_layer.import_events import batch_summary, per_contact_events_and_states
from crm_contacts.settings import ContactsSettings
from crm_shared.actors import import_actor
from crm_shared.clock import now_iso
from crm_shared.collection import pausing_collection
from crm_shared.events import ContactsImported, ImportContactsBatch
from crm_shared.events.imports import DEFAULT_MATCH_ON, DuplicatePolicy, MatchIdentifier
from crm_shared.ids import new_ids
from crm_shared.storage import DocumentStore, Session

log = logging.getLogger(__name__)

CONSUMER = "contacts.import"
# Every holder of a batch's keys: the oldest of them wins, so none may be cut off.
_ALL_HOLDERS = 10_000_000
# A batch whose contacts keep changing under it is planned again from a fresh read this many
# times; then the error reaches the consumer, which retries the message with backoff.
_CONFLICT_ATTEMPTS = 3
# New contact ids made together while a batch is planned (one read of the OS's randomness).
_IDS_AT_ONCE = 128


def _tag_names(prepared: list[PreparedRow], targets: Iterable[dict[str, Any]]) -> list[str]:
    names = [tag for p in prepared if p.profile for tag in p.profile.get("tags") or ()]
    names += [tag for doc in targets for tag in doc.get("tags") or ()]
    return unique(names)


class ConcurrentUpdateError(RuntimeError):
    """A contact changed between the batch's read and its write; the batch is retried."""


# What a write raises for data no store can hold (a 64-bit overflow, text that is not UTF-8, a
# value the driver cannot encode): the same batch fails the same way on every retry.
UNSTORABLE_ERRORS: tuple[type[Exception], ...] = (OverflowError, ValueError, TypeError)
try:
    from bson.errors import InvalidDocument

    UNSTORABLE_ERRORS += (InvalidDocument,)
except ImportError:  # pragma: no cover - pymongo is installed with crm_shared
    pass


# The batch's rows, documents and events all live until it ends: a collection would only scan
# them again (see `collection_paused`).
@pausing_collection
async def import_batch(
    store: DocumentStore,
    batch: ImportContactsBatch,
    *,
    tenant: str,
    settings: ContactsSettings,
    event_id: str,
) -> list[dict[str, Any]] | None:
    """Apply a batch under its duplicate policy; None if this event was already handled.

    A row that cannot be applied fails alone with its reason. If the batch's write still fails
    for a reason retrying cannot cure, every row is reported failed with that reason, so the
    import ends instead of waiting for a batch that was dead-lettered.
    """
    # Validation is pure CPU work: done before taking the write lock.
    prepared = _prepare(batch, settings)
    try:
        try:
            # Validation bounds every value: the documents are not each checked for a store
            # first (a JSON round trip per row, 8% of the apply), unless the write refuses one.
            return await _apply_fresh(
                store, batch, prepared, tenant=tenant, settings=settings, event_id=event_id
            )
        except UNSTORABLE_ERRORS as exc:
            log.warning(
                "import %s batch %d: the write refused a document (%s); planned again with "
                "each document checked",
                batch.job_id,
                batch.batch_no,
                type(exc).__name__,
            )
            # Planning notes errors on the rows it is given: the next plan starts afresh.
            prepared = _prepare(batch, settings)
            return await _apply_fresh(
                store,
                batch,
                prepared,
                tenant=tenant,
                settings=settings,
                event_id=event_id,
                check_storable=True,
            )
    except UNSTORABLE_ERRORS as exc:
        # The exception's text may quote a value (personal data): only its class is kept.
        reason = f"the batch could not be stored ({type(exc).__name__}); import the row again"
        log.error(
            "import %s batch %d cannot be stored (%s): its %d rows are reported failed",
            batch.job_id,
            batch.batch_no,
            type(exc).__name__,
            len(prepared),
        )
        return await _report_unstorable(
            store, batch, prepared, tenant=tenant, event_id=event_id, reason=reason
        )


def _prepare(batch: ImportContactsBatch, settings: ContactsSettings) -> list[PreparedRow]:
    return prepare_rows(
        batch.rows, region=settings.crm_default_region, suppression_key=settings.suppression_key
    )


async def _apply_fresh(
    store: DocumentStore,
    batch: ImportContactsBatch,
    prepared: list[PreparedRow],
    *,
    tenant: str,
    settings: ContactsSettings,
    event_id: str,
    check_storable: bool = False,
) -> list[dict[str, Any]] | None:
    """`_apply`, planned again from a fresh read when a contact changed between the batch's
    read and its write (the edit is kept, never overwritten by a plan made before it)."""
    apply = partial(
        _apply,
        store,
        batch,
        tenant=tenant,
        settings=settings,
        event_id=event_id,
        check_storable=check_storable,
    )
    for attempt in range(1, _CONFLICT_ATTEMPTS):
        try:
            return await apply(prepared)
        except ConcurrentUpdateError:
            log.info(
                "import %s batch %d: a contact changed meanwhile, planned again (attempt %d)",
                batch.job_id,
                batch.batch_no,
                attempt + 1,
            )
            # Planning notes errors and warnings on the rows it is given: the next plan starts
            # from rows validated afresh (a conflict is rare, so validating again costs little).
            prepared = _prepare(batch, settings)
    return await apply(prepared)


async def _report_unstorable(
    store: DocumentStore,
    batch: ImportContactsBatch,
    prepared: list[PreparedRow],
    *,
    tenant: str,
    event_id: str,
    reason: str,
) -> list[dict[str, Any]] | None:
    """Record the batch as handled with every row failed, and tell the importer."""
    results = [
        {
            "row_number": p.row_number,
            "status": "failed",
            "contact_id": None,
            "error": p.error or f"row {p.row_number}: {reason}",
        }
        for p in prepared
    ]
    async with store.transaction() as session:
        if not await session.mark_processed(CONSUMER, event_id):
            return None
        if await answer_again(session, batch, tenant=tenant):
            return None
        await record_results(session, tenant, batch.job_id, batch.batch_no, results)
        await session.add_events([processed_event(batch, results, tenant=tenant)])
    return results


@dataclass
class PlannedBatch:
    """A batch's plan, the stored documents it read, and the tenant's rules it was checked by."""

    plan: BatchPlan
    originals: list[dict[str, Any]]
    rules: ContactPolicy


async def plan_rows(
    session: Session,
    tenant: str,
    prepared: list[PreparedRow],
    *,
    policy: DuplicatePolicy,
    match_on: Sequence[MatchIdentifier],
    occurred_at: str | None,
    now: str,
    check_storable: bool = True,
) -> PlannedBatch:
    """Decide each row's fate against the tenant's live contacts, writing nothing.

    The one rule of imports: the batch apply writes this plan, the dry run's look-up reports it.
    `check_storable`: see `plan_batch`.
    """
    match_on = tuple(match_on) or DEFAULT_MATCH_ON
    existing = ExistingContacts(match_on=match_on)
    if policy != "create":
        existing = existing_by_identifiers(
            await _holders(session, tenant, prepared, match_on), match_on
        )
    hashes = [h for p in prepared for h in p.hashes]
    suppressed = (
        await SuppressionRepository(session, tenant).suppressed(hashes) if hashes else set()
    )
    # The tenant's custom fields, tag rules and the batch's tags: read once per batch.
    rules = await load_policy(session, tenant, tag_names=_tag_names(prepared, existing.contacts()))
    # The stored documents before the batch: planning notes its own writes in `existing`.
    originals = existing.contacts()
    plan = plan_batch(
        prepared,
        tenant=tenant,
        policy=policy,
        existing=existing,
        suppressed=suppressed,
        now=now,
        new_id=_id_supply(min(len(prepared), _IDS_AT_ONCE)),
        rules=rules,
        occurred_at=occurred_at,
        check_storable=check_storable,
    )
    return PlannedBatch(plan, originals, rules)


def _id_supply(at_once: int) -> Callable[[], str]:
    """New contact ids on demand, `at_once` made together (in order, as one by one): a batch
    whose rows all update contacts makes none (a thousand ids were ~1.2 us of CPU per row)."""
    made: Iterator[str] = iter(())

    def next_id() -> str:
        nonlocal made
        for contact_id in made:
            return contact_id
        made = iter(new_ids(max(at_once, 1)))
        return next(made)

    return next_id


async def _holders(
    session: Session, tenant: str, rows: list[PreparedRow], match_on: Sequence[MatchIdentifier]
) -> list[dict[str, Any]]:
    """Every live holder of the identifiers that decide who each row is, oldest first.

    The matching engine's exact look-up (any email or phone, primary or additional, and the
    external ids integrations upsert by), one identifier at a time in `match_on` order: a later
    one only for the rows the earlier ones found no one for, so a contact that two of a row's
    identifiers lead to is read (and decoded) once, not once per identifier.
    """
    finder = CandidateFinder(session, tenant)
    found: dict[str, dict[str, Any]] = {}
    for identifier in match_on:
        keys = match_keys(rows, (identifier,))
        if not keys:
            continue
        holders = await finder.by_keys(keys, limit=_ALL_HOLDERS)
        found.update((doc["id"], doc) for doc in holders)
        rows = not_yet_found(rows, identifier, holders)
    return sorted(found.values(), key=lambda doc: str(doc["id"]))


def _rematched(plan: BatchPlan) -> list[str]:
    """The existing contacts the batch changed in what they match on (`rematch_needed`, the
    API's rule): a row that only tags a contact or sets its timezone changes none of its pairs,
    and each re-match costs a round's block reads (~200 us of CPU a contact)."""
    return [
        imported["contact_id"]
        for imported in plan.imported
        if imported["action"] == "updated" and rematch_needed(imported["changed_fields"])
    ]


async def _write_contacts(
    contacts: ContactRepository, plan: BatchPlan, originals: list[dict[str, Any]]
) -> bool:
    """Insert the batch's new contacts and replace its updated ones; False if one of those
    changed since the batch read it (another write won: the batch is planned again)."""
    await contacts.add_many(plan.inserts)
    # Each at the version this batch read: an UPDATE that keeps its row (and rewrites only the
    # index entries whose values changed), where deleting and inserting again rebuilt them all.
    read_versions = {doc["id"]: int(doc["version"]) for doc in originals}
    return await contacts.save_all(
        list(plan.replacements.values()),
        expected_versions=[read_versions[contact_id] for contact_id in plan.replacements],
    )


async def _apply(
    store: DocumentStore,
    batch: ImportContactsBatch,
    prepared: list[PreparedRow],
    *,
    tenant: str,
    settings: ContactsSettings,
    event_id: str,
    check_storable: bool,
) -> list[dict[str, Any]] | None:
    """Plan and write the batch in one transaction with its events."""
    actor = import_actor(batch.job_id)
    async with store.transaction() as session:
        if not await session.mark_processed(CONSUMER, event_id):
            return None
        if await answer_again(session, batch, tenant=tenant):
            return None
        if await ImportCancellations(session, tenant).is_cancelled(batch.job_id):
            return await answer_cancelled(session, batch, tenant=tenant)
        contacts = ContactRepository(session, tenant)
        now = now_iso()
        planned = await plan_rows(
            session,
            tenant,
            prepared,
            policy=batch.on_duplicate,
            match_on=batch.match_on,
            occurred_at=batch.occurred_at,
            now=now,
            check_storable=check_storable,
        )
        plan, originals, rules = planned.plan, planned.originals, planned.rules
        await record_new_tags(session, tenant, rules)
        account_events = await link_import_batch(session, tenant, plan, now=now, actor=actor)
        mark_imported([*plan.inserts, *plan.replacements.values()], batch.job_id)
        # The writes go to the store's thread (or server); the events are built meanwhile, as
        # the rewrite jobs do. Nothing else uses the session until the writes are done.
        writing = asyncio.create_task(_write_contacts(contacts, plan, originals))
        try:
            await asyncio.sleep(0)
            events = [processed_event(batch, plan.results, tenant=tenant), *account_events]
            contact_events, states = per_contact_events_and_states(
                plan, originals, job_id=batch.job_id, tenant=tenant, actor=actor
            )
            events += contact_events
            if plan.imported:
                imported = batch_summary(
                    ContactsImported,
                    job_id=batch.job_id,
                    batch_no=batch.batch_no,
                    entries=plan.imported,
                    tenant=tenant,
                    actor=actor,
                )
                events.append(imported)
        finally:
            written = await writing  # never left running when the transaction ends
        if not written:
            raise ConcurrentUpdateError(f"a contact of import {batch.job_id} changed meanwhile")
        created = [d["id"] for d in plan.inserts]
        await queue_rematch(
            session, tenant, created, reason="imported", import_job=batch.job_id, new_contacts=True
        )
        await queue_rematch(
            session, tenant, _rematched(plan), reason="imported", import_job=batch.job_id
        )
        await record_results(session, tenant, batch.job_id, batch.batch_no, plan.results)
        await session.add_events([*events, *states])
    log.info(
        "import %s batch %d: %d rows, %d created, %d updated",
        batch.job_id,
        batch.batch_no,
        len(prepared),
        len(plan.inserts),
        len(plan.replacements),
    )
    return plan.results
