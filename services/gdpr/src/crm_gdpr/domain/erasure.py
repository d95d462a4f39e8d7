"""The erasure saga's state: one request, a receipt per participating service, its outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from crm_shared.events.gdpr import ERASURE_PARTICIPANTS

ReceiptStatus = Literal["pending", "completed", "failed"]
RequestStatus = Literal["pending", "completed", "failed"]
Outcome = Literal["completed", "failed"]


class RequestErasure(BaseModel):
    """Command: erase every piece of personal data about a contact, in every service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_id: str


class Receipt(BaseModel):
    """What one service reported about the erasure."""

    model_config = ConfigDict(frozen=True)

    status: ReceiptStatus = "pending"
    at: str | None = None
    detail: str | None = None


class ErasureRequest(BaseModel):
    """An erasure request; it stores no email or phone, only the contact id."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str
    contact_id: str
    status: RequestStatus = "pending"
    receipts: dict[str, Receipt]
    requested_by: str
    requested_at: str
    completed_at: str | None = None

    @classmethod
    def open(
        cls,
        *,
        id: str,
        tenant: str,
        contact_id: str,
        requested_by: str,
        requested_at: str,
        participants: tuple[str, ...] = ERASURE_PARTICIPANTS,
    ) -> ErasureRequest:
        """A new pending request awaiting a receipt from every participant."""
        return cls(
            id=id,
            tenant=tenant,
            contact_id=contact_id,
            receipts={service: Receipt() for service in participants},
            requested_by=requested_by,
            requested_at=requested_at,
        )

    def public(self) -> dict[str, Any]:
        """The request as the API shows it (without the tenant)."""
        return self.model_dump(exclude={"tenant"})


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
    status: Outcome,
    at: str,
    detail: str | None,
    now: str,
) -> ReceiptApplied:
    """Record one service's receipt and derive the request's status.

    Completed is final. Failed is not: a service that failed may retry and send a completed
    receipt later. The outcome is announced when the last pending receipt arrives, and again if a
    failed request later completes.
    """
    current = request.receipts.get(service)
    if request.status == "completed" or current is None:
        return ReceiptApplied(request, changed=False)
    if current.status == status and current.detail == detail:
        return ReceiptApplied(request, changed=False)
    receipts = {**request.receipts, service: Receipt(status=status, at=at, detail=detail)}
    statuses = [r.status for r in receipts.values()]
    was_open = any(r.status == "pending" for r in request.receipts.values())
    announce: Outcome | None = None
    completed_at: str | None = None
    new_status: RequestStatus
    if all(s == "completed" for s in statuses):
        new_status, announce, completed_at = "completed", "completed", now
    elif "failed" in statuses:
        new_status = "failed"
        if was_open and "pending" not in statuses:
            announce = "failed"
    else:
        new_status = "pending"
    updated = request.model_copy(
        update={"receipts": receipts, "status": new_status, "completed_at": completed_at}
    )
    return ReceiptApplied(updated, changed=True, announce=announce)
