"""Appending to the tenant's audit chain, reading it, and verifying it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from crm_gdpr.adapters.repositories import AuditRepository, MergeLinkRepository
from crm_gdpr.domain.audit import (
    GENESIS_HASH,
    AuditDraft,
    ChainReport,
    ChainWalker,
    chain_entries,
)
from crm_gdpr.domain.audit_events import audit_drafts
from crm_gdpr.domain.audit_values import VALUES_AS_ONE
from crm_gdpr.service_layer.ids import new_ids
from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.events import parse_event
from crm_shared.storage import DocumentStore, DuplicateKeyError, Session

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditFilters:
    """Who, what and when: `since` inclusive, `until` exclusive (ISO 8601 UTC)."""

    actor: str | None = None
    action: str | None = None
    since: str | None = None
    until: str | None = None


AUDIT_CONSUMER = "gdpr.audit"
APPEND_ATTEMPTS = 8
VERIFY_PAGE = 1000

T = TypeVar("T")


async def with_seq_retry(
    store: DocumentStore,
    work: Callable[[Session], Awaitable[T]],
    *,
    attempts: int = APPEND_ATTEMPTS,
) -> T:
    """Run `work` in a transaction; start over when a concurrent append took the same seq."""
    for attempt in range(1, attempts + 1):
        try:
            async with store.transaction() as session:
                return await work(session)
        except DuplicateKeyError:
            if attempt == attempts:
                raise
            log.info("audit seq taken by a concurrent append; retrying (attempt %d)", attempt)
    raise AssertionError("unreachable")  # pragma: no cover


async def append_audit(
    session: Session, tenant: str, drafts: Sequence[AuditDraft]
) -> list[dict[str, Any]]:
    """Append drafts after the tenant's last entry, in the caller's transaction."""
    if not drafts:
        return []
    repo = AuditRepository(session)
    # One read of the chain head and one write for the whole batch, however many drafts.
    last = await repo.last(tenant)
    entries = chain_entries(
        drafts,
        ids=new_ids(len(drafts)),
        tenant=tenant,
        after_seq=int(last["seq"]) if last else 0,
        prev_hash=str(last["hash"]) if last else GENESIS_HASH,
    )
    await repo.add_many(entries)
    return entries


async def record_event(
    store: DocumentStore, envelope: EventEnvelope, data: EventData | None = None
) -> int:
    """Append the audit entries of one event, once; return how many were appended.

    `data` is the envelope's already parsed payload, if the caller (the bus) has it.
    """
    if data is None:
        data = parse_event(envelope)
    if data is None:
        log.debug("audit: ignoring unknown event type %s", envelope.type)
        return 0
    drafts = audit_drafts(envelope, data)
    if not drafts:
        return 0

    async def work(session: Session) -> int:
        if not await session.mark_processed(AUDIT_CONSUMER, envelope.id):
            return 0
        return len(await append_audit(session, envelope.tenant, drafts))

    return await with_seq_retry(store, work)


async def audit_page(
    store: DocumentStore,
    *,
    tenant: str,
    contact_id: str | None,
    after_seq: int | None,
    limit: int,
    filters: AuditFilters | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of entries oldest first, and the seq to continue after (None on the last page)."""
    filters = filters or AuditFilters()
    async with store.reader() as session:
        # A contact's trail includes the contacts merged into it (while the merge stands).
        targets = (
            None
            if contact_id is None
            else await MergeLinkRepository(session).with_merged(tenant, contact_id)
        )
        entries = await AuditRepository(session).page(
            tenant,
            target=targets[0] if targets and len(targets) == 1 else targets,
            after_seq=after_seq,
            limit=limit + 1,
            actor=filters.actor,
            action=filters.action,
            since=filters.since,
            until=filters.until,
        )
    if len(entries) > limit:
        entries = entries[:limit]
        return entries, int(entries[-1]["seq"])
    return entries, None


async def stream_audit(
    store: DocumentStore, *, tenant: str, filters: AuditFilters
) -> AsyncIterator[list[dict[str, Any]]]:
    """The tenant's whole log (filtered), page by page, each page in its own short read."""
    after_seq: int | None = None
    while True:
        page, after_seq = await audit_page(
            store,
            tenant=tenant,
            contact_id=None,
            after_seq=after_seq,
            limit=VERIFY_PAGE,
            filters=filters,
        )
        if page:
            yield [public_entry(entry) for entry in page]
        if after_seq is None:
            return


async def audit_for_target(
    store: DocumentStore, *, tenant: str, target: str
) -> list[dict[str, Any]]:
    """Every entry about one target (a contact and those merged into it), oldest first."""
    async with store.reader() as session:
        targets = await MergeLinkRepository(session).with_merged(tenant, target)
        return await AuditRepository(session).for_target(
            tenant, targets[0] if len(targets) == 1 else targets
        )


async def verify_chain(store: DocumentStore, *, tenant: str) -> ChainReport:
    """Walk the tenant's chain in seq order, recomputing each hash, until the first broken link."""
    walker = ChainWalker()
    after_seq: int | None = None
    while not walker.broken:
        # One short read per page, so a long chain never holds the reader for the whole walk.
        async with store.reader() as session:
            page = await AuditRepository(session).page(
                tenant, target=None, after_seq=after_seq, limit=VERIFY_PAGE
            )
        for entry in page:
            if not walker.check(entry):
                break
        if len(page) < VERIFY_PAGE:
            break
        after_seq = int(page[-1]["seq"])
    return walker.report()


def public_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as the API shows it: each change's values (unless redacted) and commitments."""
    keys = ("seq", "at", "actor", "action", "target", "fields", "event_id", "prev_hash", "hash")
    shown = {key: entry.get(key) for key in keys}
    if entry.get("format") == VALUES_AS_ONE:
        return _shown_values_as_one(shown, entry)
    shown["format"] = 1
    committed = entry.get("changes") or []
    openings = entry.get("values") or [None] * len(committed)
    shown["changes"] = [
        {
            "field": promised.get("field"),
            "before": _opened_value(opened, "before"),
            "after": _opened_value(opened, "after"),
            "before_commitment": promised.get("before"),
            "after_commitment": promised.get("after"),
        }
        for promised, opened in zip(committed, openings, strict=False)
    ]
    shown["redacted"] = bool(committed) and entry.get("values") is None
    return shown


def _shown_values_as_one(shown: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """A format 2 entry: its values (none once redacted) and the one commitment to them all."""
    opening = entry.get("values")
    rows = opening.get("changes") if isinstance(opening, dict) else None
    # A row of another shape (a tampered entry, which verification reports) is left out, not
    # a failed read.
    shown["changes"] = [
        {
            "field": row[0],
            "before": row[1],
            "after": row[2],
            "before_commitment": None,
            "after_commitment": None,
        }
        for row in (rows if isinstance(rows, list) else ())
        if isinstance(row, list) and len(row) == 3
    ]
    shown["format"] = VALUES_AS_ONE
    shown["values_commitment"] = entry.get("values_commitment")
    shown["redacted"] = opening is None
    return shown


def _opened_value(opened: dict[str, Any] | None, side: str) -> Any:
    kept = (opened or {}).get(side)
    return kept.get("value") if isinstance(kept, dict) else None
