"""The erasure saga's state: one request for a person, a receipt per service per record found.

A request names a person by a contact id, an email, a phone or up to 5,000 contact ids; the
contacts service resolves that to every record of the person (live, soft-deleted, merged away).
Each participating service then reports one receipt per record. The request keeps counts per
service (so 5,000 records make a small document); the receipts are stored one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.clock import iso
from crm_shared.events.gdpr import ERASURE_PARTICIPANTS

ReceiptStatus = Literal["pending", "completed", "failed"]
RequestStatus = Literal["pending", "completed", "failed"]
Outcome = Literal["completed", "failed"]
Selector = Literal["contact_id", "email", "phone", "contact_ids"]
# How a list of requests is ordered: as received (oldest or newest first) or by due date (an
# admin works the ones due soonest first); ids are time-ordered, so received order is id order.
ErasureOrder = Literal["received_at", "-received_at", "due_at", "-due_at"]
MAX_ERASURE_IDS = 5_000
# The share of the legal deadline after which an open request is flagged and logged.
WARN_SHARE = 0.8


class RequestErasure(BaseModel):
    """Command: erase every record of a person (or of several people), in every service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    selector: Selector
    contact_ids: tuple[str, ...] = Field(default=(), max_length=MAX_ERASURE_IDS)
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()


class Receipt(BaseModel):
    """What one service reported (for one record, or summed over every record)."""

    model_config = ConfigDict(frozen=True)

    status: ReceiptStatus = "pending"
    at: str | None = None
    detail: str | None = None


class ServiceProgress(BaseModel):
    """How many of the request's records a service confirmed or failed, and its latest word."""

    model_config = ConfigDict(frozen=True)

    completed: int = 0
    failed: int = 0
    at: str | None = None
    detail: str | None = None

    def summary(self, records: int) -> Receipt:
        """The service's status over every record: failed if one failed, done when all are."""
        if self.failed:
            status: ReceiptStatus = "failed"
        elif self.completed >= records:
            status = "completed"
        else:
            status = "pending"
        return Receipt(status=status, at=self.at, detail=self.detail)


def deadlines(received: datetime, *, deadline_days: float) -> tuple[str, str]:
    """(due_at, warn_at): the legal deadline and the moment 80% of it has gone."""
    period = timedelta(days=deadline_days)
    return iso(received + period), iso(received + period * WARN_SHARE)


class ErasureRequest(BaseModel):
    """An erasure request; it stores no email or phone, only record ids and counts."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str
    # The first record found: the request is deduplicated and its events keyed by it.
    contact_id: str
    selector: Selector = "contact_id"
    record_count: int = 1
    status: RequestStatus = "pending"
    services: dict[str, ServiceProgress]
    requested_by: str
    received_at: str
    due_at: str
    warn_at: str
    completed_at: str | None = None
    flagged_at: str | None = None

    @classmethod
    def open(
        cls,
        *,
        id: str,
        tenant: str,
        contact_id: str,
        record_count: int,
        selector: Selector,
        requested_by: str,
        received: datetime,
        deadline_days: float,
        participants: tuple[str, ...] = ERASURE_PARTICIPANTS,
    ) -> ErasureRequest:
        """A new pending request awaiting a receipt from every participant for every record."""
        due_at, warn_at = deadlines(received, deadline_days=deadline_days)
        return cls(
            id=id,
            tenant=tenant,
            contact_id=contact_id,
            selector=selector,
            record_count=record_count,
            services={service: ServiceProgress() for service in participants},
            requested_by=requested_by,
            received_at=iso(received),
            due_at=due_at,
            warn_at=warn_at,
        )

    @property
    def receipts(self) -> dict[str, Receipt]:
        """Each service's status over every record."""
        return {name: p.summary(self.record_count) for name, p in self.services.items()}

    def overdue(self, now: str) -> bool:
        """Open past 80% of its time."""
        return self.status != "completed" and now >= self.warn_at

    def public(self, now: str) -> dict[str, Any]:
        """The request as the API shows it (without the tenant)."""
        shown = self.model_dump(exclude={"tenant", "services", "flagged_at"})
        return {
            **shown,
            "requested_at": self.received_at,
            "receipts": {k: v.model_dump() for k, v in self.receipts.items()},
            "services": {
                name: {
                    "completed": p.completed,
                    "failed": p.failed,
                    "pending": max(self.record_count - p.completed - p.failed, 0),
                }
                for name, p in self.services.items()
            },
            "overdue": self.overdue(now),
        }


@dataclass(frozen=True)
class ReceiptApplied:
    """The request after a receipt, and the outcome to announce now (if the saga just ended)."""

    request: ErasureRequest
    changed: bool
    announce: Outcome | None = None


def apply_receipt(
    request: ErasureRequest,
    *,
    service: str,
    previous: ReceiptStatus,
    status: Outcome,
    at: str,
    detail: str | None,
    now: str,
) -> ReceiptApplied:
    """Record one service's receipt for one record (`previous`: that record's last status).

    Completed is final. Failed is not: a service that failed may retry and send a completed
    receipt later. The outcome is announced when the last pending receipt arrives, and again if a
    failed request later completes.
    """
    progress = request.services.get(service)
    if request.status == "completed" or progress is None or previous == "completed":
        return ReceiptApplied(request, changed=False)
    if previous == status:
        return ReceiptApplied(request, changed=False)
    completed = progress.completed + (status == "completed")
    failed = progress.failed + (status == "failed") - (previous == "failed")
    services = {
        **request.services,
        service: ServiceProgress(completed=completed, failed=failed, at=at, detail=detail),
    }
    was_open = _open_receipts(request.services, request.record_count)
    still_open = _open_receipts(services, request.record_count)
    any_failed = any(p.failed for p in services.values())
    announce: Outcome | None = None
    completed_at: str | None = None
    new_status: RequestStatus
    if not still_open and not any_failed:
        new_status, announce, completed_at = "completed", "completed", now
    elif any_failed:
        new_status = "failed"
        if was_open and not still_open:
            announce = "failed"
    else:
        new_status = "pending"
    updated = request.model_copy(
        update={"services": services, "status": new_status, "completed_at": completed_at}
    )
    return ReceiptApplied(updated, changed=True, announce=announce)


def _open_receipts(services: dict[str, ServiceProgress], records: int) -> bool:
    return any(p.completed + p.failed < records for p in services.values())
