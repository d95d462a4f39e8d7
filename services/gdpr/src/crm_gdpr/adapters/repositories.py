"""Repositories over the storage session: collection names, indexes and every query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_gdpr.adapters.bundles import BUNDLE_SPECS
from crm_gdpr.domain.consent import ConsentEntry
from crm_gdpr.domain.erasure import ErasureOrder, ErasureRequest
from crm_shared.idempotency_records import IDEMPOTENCY_COLLECTION
from crm_shared.rate_limit_store import RATE_LIMIT_COLLECTION
from crm_shared.storage import (
    CollectionSpec,
    Cursor,
    Eq,
    In,
    Index,
    Not,
    Range,
    Session,
    Where,
)

AUDIT_ENTRIES = "audit_entries"
CONSENTS = "consents"
ERASURE_REQUESTS = "erasure_requests"
# One document per (request, record, service): the receipts of a request, and its records.
ERASURE_RECEIPTS = "erasure_receipts"
ERASURE_RECORDS = "erasure_records"
# Open requests of every tenant by the moment they pass 80% of their time, under the reserved
# tenant "" so one loop watches them all.
ERASURE_DEADLINES = "erasure_deadlines"
WATCH_TENANT = ""
# Open requests of every tenant by the moment their commands are sent again if a receipt is
# still missing (a command lost with a broker's records); with the hashes the commands carried.
ERASURE_RESENDS = "erasure_resends"
# Which contacts were merged into which (while the merge stands): audit look-ups follow them.
MERGE_LINKS = "merge_links"
MAX_MERGE_DEPTH = 10

COLLECTION_SPECS: tuple[CollectionSpec, ...] = (
    CollectionSpec(
        AUDIT_ENTRIES,
        # The unique seq per tenant is what keeps concurrent appends from forking the chain.
        (
            Index(("seq",), unique=True),
            Index(("target", "seq")),
            Index(("actor", "seq")),
            Index(("action", "seq")),
        ),
    ),
    CollectionSpec(CONSENTS, (Index(("contact_id", "purpose")),)),
    CollectionSpec(
        ERASURE_REQUESTS,
        # At most one pending request per contact, even when two admins ask at the same moment.
        (
            Index(("contact_id",)),
            Index(("pending_key",), unique=True),
            Index(("status",)),
            Index(("warn_at",)),
            Index(("due_at",)),
        ),
    ),
    CollectionSpec(ERASURE_RECEIPTS, (Index(("erasure_id", "contact_id")),)),
    CollectionSpec(ERASURE_RECORDS),
    CollectionSpec(ERASURE_DEADLINES, (Index(("warn_at",)),)),
    CollectionSpec(ERASURE_RESENDS, (Index(("resend_at",)),)),
    CollectionSpec(MERGE_LINKS, (Index(("primary_id",)), Index(("merge_id",)))),
    IDEMPOTENCY_COLLECTION,
    RATE_LIMIT_COLLECTION,
    *BUNDLE_SPECS,
)

_PAGE = 500
# The stored field each order sorts by: ids are time-ordered, so received order is id order.
_ERASURE_SORT_FIELDS = {"received_at": "id", "due_at": "due_at"}


async def _find_all(
    session: Session, collection: str, *, tenant: str, where: Sequence[Where], order_by: str
) -> list[dict[str, Any]]:
    """Every matching document, read page by page within one session."""
    docs: list[dict[str, Any]] = []
    after: Cursor | None = None
    while True:
        page = await session.find(
            collection, tenant=tenant, where=where, order_by=order_by, limit=_PAGE, after=after
        )
        docs.extend(page)
        if len(page) < _PAGE:
            return docs
        after = Cursor(value=page[-1].get(order_by), id=page[-1]["id"])


class AuditRepository:
    """The append-only audit entries of each tenant."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def last(self, tenant: str) -> dict[str, Any] | None:
        """The entry with the highest seq, or None for an empty chain."""
        found = await self._session.find(
            AUDIT_ENTRIES, tenant=tenant, order_by="seq", descending=True, limit=1
        )
        return found[0] if found else None

    async def add_many(self, entries: Sequence[dict[str, Any]]) -> None:
        """Append entries; raises DuplicateKeyError if another writer took one of their seqs."""
        await self._session.insert_many(AUDIT_ENTRIES, entries)

    async def page(
        self,
        tenant: str,
        *,
        target: str | Sequence[str] | None,
        after_seq: int | None,
        limit: int,
        actor: str | None = None,
        action: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[dict[str, Any]]:
        """Entries oldest first by seq, filtered by target(s), actor, action and time."""
        where: list[Where] = []
        if actor is not None:
            where.append(Eq("actor", actor))
        if action is not None:
            where.append(Eq("action", action))
        if since is not None or until is not None:
            where.append(Range("at", gte=since, lt=until))
        if isinstance(target, str):
            where.append(Eq("target", target))
        elif target is not None:
            where.append(In("target", tuple(target)))
        if after_seq is not None:
            where.append(Range("seq", gt=after_seq))
        return await self._session.find(
            AUDIT_ENTRIES, tenant=tenant, where=where, order_by="seq", limit=limit
        )

    async def for_target(self, tenant: str, target: str | Sequence[str]) -> list[dict[str, Any]]:
        """Every entry about one target (or several), oldest first."""
        condition: Where = (
            Eq("target", target) if isinstance(target, str) else In("target", tuple(target))
        )
        return await _find_all(
            self._session, AUDIT_ENTRIES, tenant=tenant, where=[condition], order_by="seq"
        )

    async def with_values_about(self, tenant: str, target: str) -> list[dict[str, Any]]:
        """Entries about a target that still keep values (not redacted)."""
        return await _find_all(
            self._session,
            AUDIT_ENTRIES,
            tenant=tenant,
            where=[Eq("target", target), Not(Eq("values", None))],
            order_by="seq",
        )

    async def replace(self, entry: dict[str, Any]) -> None:
        """Replace a stored entry (redaction only: chained attributes stay as they were)."""
        await self._session.replace(AUDIT_ENTRIES, entry)


class ConsentRepository:
    """The consent ledger: entries are only ever added."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def add(self, entry: ConsentEntry) -> None:
        """Append a ledger entry."""
        await self._session.insert(CONSENTS, entry.model_dump())

    async def for_contact(self, tenant: str, contact_id: str) -> list[ConsentEntry]:
        """Every entry of a contact, oldest first."""
        docs = await _find_all(
            self._session,
            CONSENTS,
            tenant=tenant,
            where=[Eq("contact_id", contact_id)],
            order_by="id",
        )
        return [ConsentEntry.model_validate(doc) for doc in docs]

    async def redact_contact(self, tenant: str, contact_id: str, *, at: str) -> int:
        """Take the personal values out of a contact's entries (erasure); how many changed."""
        changed = 0
        for entry in await self.for_contact(tenant, contact_id):
            if entry.redacted_at is None and entry.source is not None:
                await self._session.replace(CONSENTS, entry.redacted(at=at).model_dump())
                changed += 1
        return changed


class ErasureRepository:
    """Erasure requests, their records and per-record receipts, and the deadline watch."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def get(self, tenant: str, erasure_id: str) -> ErasureRequest | None:
        """One request of the tenant, or None."""
        doc = await self._session.get(ERASURE_REQUESTS, tenant=tenant, id=erasure_id)
        return None if doc is None else ErasureRequest.model_validate(doc)

    async def pending_for_contact(self, tenant: str, contact_id: str) -> ErasureRequest | None:
        """The request still awaiting receipts whose first record is this contact, if any."""
        found = await self._session.find(
            ERASURE_REQUESTS,
            tenant=tenant,
            where=[Eq("contact_id", contact_id), Eq("status", "pending")],
            limit=1,
        )
        return ErasureRequest.model_validate(found[0]) if found else None

    async def add(
        self, request: ErasureRequest, records: Sequence[dict[str, Any]], services: Sequence[str]
    ) -> None:
        """Store a new request, its records and a pending receipt per record and service.

        DuplicateKeyError if the first record already has a pending request.
        """
        await self._session.insert(ERASURE_REQUESTS, _erasure_doc(request))
        await self._session.insert(
            ERASURE_RECORDS, {"id": request.id, "tenant": request.tenant, "records": list(records)}
        )
        receipts = [
            {
                "id": receipt_id(request.id, record["id"], service),
                "tenant": request.tenant,
                "erasure_id": request.id,
                "contact_id": record["id"],
                "service": service,
                "status": "pending",
                "at": None,
                "detail": None,
            }
            for record in records
            for service in services
        ]
        for start in range(0, len(receipts), _PAGE):
            await self._session.insert_many(ERASURE_RECEIPTS, receipts[start : start + _PAGE])
        await self._session.insert(
            ERASURE_DEADLINES,
            {
                "id": request.id,
                "tenant": WATCH_TENANT,
                "request_tenant": request.tenant,
                "warn_at": request.warn_at,
            },
        )

    async def save(self, request: ErasureRequest) -> None:
        """Replace a request with its new state; a settled one leaves the deadline watch."""
        await self._session.replace(ERASURE_REQUESTS, _erasure_doc(request))
        if request.status == "completed":
            await self._session.delete_where(
                ERASURE_DEADLINES, tenant=WATCH_TENANT, where=[Eq("id", request.id)]
            )
        if request.status != "pending":
            await self.unwatch_resend(request.id)

    async def watch_resend(self, request: ErasureRequest, hashes: list[str], at: str) -> None:
        """Send the request's commands again at `at` if a receipt is still missing then."""
        await self._session.insert(
            ERASURE_RESENDS,
            {
                "id": request.id,
                "tenant": WATCH_TENANT,
                "request_tenant": request.tenant,
                "resend_at": at,
                "attempts": 0,
                "hashes": hashes,
            },
        )

    async def due_for_resend(self, now: str, *, limit: int) -> list[dict[str, Any]]:
        """Open requests of every tenant whose commands are due to be sent again."""
        return await self._session.find(
            ERASURE_RESENDS,
            tenant=WATCH_TENANT,
            where=[Range("resend_at", lte=now)],
            order_by="resend_at",
            limit=limit,
        )

    async def save_resend(self, watch: dict[str, Any]) -> None:
        """Replace a resend watch (its next moment and attempts)."""
        await self._session.replace(ERASURE_RESENDS, watch)

    async def unwatch_resend(self, erasure_id: str) -> None:
        """Send the request's commands no more (answered, or out of attempts)."""
        await self._session.delete_where(
            ERASURE_RESENDS, tenant=WATCH_TENANT, where=[Eq("id", erasure_id)]
        )

    async def receipt(
        self, tenant: str, erasure_id: str, contact_id: str, service: str
    ) -> dict[str, Any] | None:
        """The receipt of one service for one record, or None if it is no part of the request."""
        return await self._session.get(
            ERASURE_RECEIPTS, tenant=tenant, id=receipt_id(erasure_id, contact_id, service)
        )

    async def receipts_by_id(self, tenant: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored receipts with these ids (see `receipt_id`), by id; one read per page."""
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), _PAGE):
            chunk = unique[start : start + _PAGE]
            for doc in await self._session.find(
                ERASURE_RECEIPTS, tenant=tenant, where=[In("id", tuple(chunk))], limit=len(chunk)
            ):
                found[str(doc["id"])] = doc
        return found

    async def save_receipt(self, receipt: dict[str, Any]) -> None:
        """Replace one per-record receipt."""
        await self._session.replace(ERASURE_RECEIPTS, receipt)

    async def receipts_of(self, tenant: str, erasure_id: str) -> list[dict[str, Any]]:
        """Every per-record receipt of a request."""
        return await _find_all(
            self._session,
            ERASURE_RECEIPTS,
            tenant=tenant,
            where=[Eq("erasure_id", erasure_id)],
            order_by="id",
        )

    async def records_of(self, tenant: str, erasure_id: str) -> list[dict[str, Any]]:
        """The records the request found: id and state (live, deleted, merged, erased)."""
        doc = await self._session.get(ERASURE_RECORDS, tenant=tenant, id=erasure_id)
        return list(doc["records"]) if doc else []

    async def page(
        self,
        tenant: str,
        *,
        status: str | None,
        warned_before: str | None,
        order: ErasureOrder = "received_at",
        after: Cursor | None,
        limit: int,
    ) -> list[ErasureRequest]:
        """Requests in `order` (then by id), by status and/or past their warning time."""
        where: list[Where] = []
        if status is not None:
            where.append(Eq("status", status))
        if warned_before is not None:
            where.append(Range("warn_at", lte=warned_before))
            where.append(In("status", ("pending", "failed")))
        docs = await self._session.find(
            ERASURE_REQUESTS,
            tenant=tenant,
            where=where,
            order_by=_ERASURE_SORT_FIELDS[order.removeprefix("-")],
            descending=order.startswith("-"),
            after=after,
            limit=limit,
        )
        return [ErasureRequest.model_validate(doc) for doc in docs]

    async def due_for_warning(self, now: str, *, limit: int) -> list[dict[str, Any]]:
        """Open requests of every tenant past their warning time, not flagged yet."""
        return await self._session.find(
            ERASURE_DEADLINES,
            tenant=WATCH_TENANT,
            where=[Range("warn_at", lte=now)],
            order_by="warn_at",
            limit=limit,
        )

    async def unwatch(self, erasure_id: str) -> None:
        """Stop watching a request (flagged, or settled)."""
        await self._session.delete_where(
            ERASURE_DEADLINES, tenant=WATCH_TENANT, where=[Eq("id", erasure_id)]
        )


def receipt_id(erasure_id: str, contact_id: str, service: str) -> str:
    """The id of one service's receipt for one record of a request."""
    return f"{erasure_id}:{service}:{contact_id}"


def _erasure_doc(request: ErasureRequest) -> dict[str, Any]:
    # The same key for every pending request of a contact, a unique one once it is settled;
    # never null, since a MongoDB unique index admits a single null.
    pending_key = (
        f"pending:{request.contact_id}" if request.status == "pending" else f"done:{request.id}"
    )
    return {**request.model_dump(mode="json"), "pending_key": pending_key}


class MergeLinkRepository:
    """Contacts merged into others, while their merge stands."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def link(
        self, tenant: str, *, merge_id: str, primary_id: str, duplicates: Sequence[str]
    ) -> None:
        """Record that the duplicates were merged into the primary."""
        await self._session.insert_many(
            MERGE_LINKS,
            [
                {
                    "id": f"{merge_id}:{duplicate_id}",
                    "tenant": tenant,
                    "merge_id": merge_id,
                    "primary_id": primary_id,
                    "duplicate_id": duplicate_id,
                }
                for duplicate_id in duplicates
            ],
        )

    async def unlink(self, tenant: str, merge_id: str) -> int:
        """Forget the links of an undone merge."""
        return await self._session.delete_where(
            MERGE_LINKS, tenant=tenant, where=[Eq("merge_id", merge_id)]
        )

    async def with_merged(self, tenant: str, contact_id: str) -> list[str]:
        """The contact and every contact merged into it, directly or through a chain."""
        found = [contact_id]
        frontier = (contact_id,)
        for _ in range(MAX_MERGE_DEPTH):
            docs = await self._session.find(
                MERGE_LINKS, tenant=tenant, where=[In("primary_id", frontier)], limit=10_000
            )
            frontier = tuple(d["duplicate_id"] for d in docs if d["duplicate_id"] not in found)
            if not frontier:
                break
            found.extend(frontier)
        return found
