"""Request bodies and public response shapes of the HTTP API (contract v1)."""

from __future__ import annotations

import re
from typing import Annotated, Any, cast

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from crm_gdpr.domain.consent import PURPOSE_PATTERN, Channel, ConsentStatus, LawfulBasis
from crm_gdpr.domain.erasure import (
    MAX_ERASURE_IDS,
    ErasureOrder,
    ErasureRequest,
    ReceiptStatus,
    RequestStatus,
    Selector,
)
from crm_shared.cursors import ID, CursorCodec, Integer, Text
from crm_shared.storage import Cursor

CONTACT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
ContactId = Annotated[str, StringConstraints(pattern=CONTACT_ID_PATTERN)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonSelector(_Body):
    """Who a request is about: exactly one of a contact id, an email, a phone or contact ids."""

    contact_id: ContactId | None = None
    email: str | None = Field(default=None, min_length=3, max_length=254)
    phone: str | None = Field(default=None, min_length=3, max_length=64)
    contact_ids: list[ContactId] | None = Field(
        default=None, min_length=1, max_length=MAX_ERASURE_IDS
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> PersonSelector:
        given = [name for name in _SELECTORS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of contact_id, email, phone or contact_ids")
        return self

    def command_fields(self) -> dict[str, Any]:
        """The selector as the command's fields."""
        if self.contact_id is not None:
            return {"selector": "contact_id", "contact_ids": (self.contact_id,)}
        if self.email is not None:
            return {"selector": "email", "emails": (self.email,)}
        if self.phone is not None:
            return {"selector": "phone", "phones": (self.phone,)}
        return {"selector": "contact_ids", "contact_ids": tuple(self.contact_ids or ())}


_SELECTORS = ("contact_id", "email", "phone", "contact_ids")


class ErasureRequestCreate(PersonSelector):
    """Body of `POST /v1/erasure-requests`."""


class ConsentCreate(_Body):
    """Body of `POST /v1/contacts/{id}/consents`."""

    purpose: str = Field(pattern=PURPOSE_PATTERN)
    status: ConsentStatus
    source: str | None = Field(default=None, max_length=200)
    channel: Channel = "any"
    lawful_basis: LawfulBasis = "consent"
    notice_version: str | None = Field(default=None, max_length=64)


class DataExportCreate(PersonSelector):
    """Body of `POST /v1/data-exports`: the same selectors as an erasure request."""


class ReceiptPublic(BaseModel):
    """One participating service's erasure status."""

    status: ReceiptStatus
    at: str | None
    detail: str | None


class ServiceCountsPublic(BaseModel):
    """How many of the request's records a service confirmed, failed, or has yet to report."""

    completed: int
    failed: int
    pending: int


class RecordPublic(BaseModel):
    """A record the request found, its state then, and each service's receipt for it."""

    id: str
    state: str
    receipts: dict[str, ReceiptPublic] = {}


class ErasurePublic(BaseModel):
    """An erasure request: the records it found and each service's receipts."""

    id: str
    contact_id: str = Field(description="The first record found (the request's key)")
    selector: Selector
    record_count: int
    status: RequestStatus
    receipts: dict[str, ReceiptPublic] = Field(description="Each service over every record")
    services: dict[str, ServiceCountsPublic]
    requested_by: str
    requested_at: str
    received_at: str
    due_at: str = Field(description="received_at plus the legal deadline (GDPR_ERASURE_DAYS)")
    warn_at: str = Field(description="When 80% of the time has gone")
    completed_at: str | None
    overdue: bool = Field(description="Still open past 80% of its time")
    records: list[RecordPublic] | None = Field(
        default=None, description="Every record found, with receipts (one request only)"
    )


class ErasurePagePublic(BaseModel):
    """A page of erasure requests in the order asked for (oldest first by default)."""

    items: list[ErasurePublic]
    next_cursor: str | None


class ConsentEntryPublic(BaseModel):
    """One consent ledger entry."""

    id: str
    contact_id: str
    purpose: str
    channel: Channel
    status: ConsentStatus
    lawful_basis: LawfulBasis
    source: str | None
    notice_version: str | None
    recorded_at: str
    recorded_by: str
    merge_id: str | None = Field(
        default=None, description="The merge that copied this decision from a duplicate"
    )
    merged_from: str | None = Field(default=None, description="The duplicate it came from")
    redacted_at: str | None = Field(
        default=None, description="When an erasure took its personal values (source) out"
    )


class PurposeConsentPublic(BaseModel):
    """The current consent for a purpose and channel, with its history oldest first."""

    purpose: str
    channel: Channel
    status: ConsentStatus
    updated_at: str
    history: list[ConsentEntryPublic]


class ConsentsPublic(BaseModel):
    """A contact's consents."""

    contact_id: str
    purposes: list[PurposeConsentPublic]


class AuditChangePublic(BaseModel):
    """One changed field: its values (null once redacted) and, in an entry of format 1, the
    commitments the chain covers (format 2 commits to all the entry's values as one)."""

    field: str
    before: Any = None
    after: Any = None
    before_commitment: str | None
    after_commitment: str | None


class AuditEntryPublic(BaseModel):
    """One audit entry: who (a readable principal), what, on which target, which values."""

    seq: int
    at: str
    actor: str = Field(description="key:<label>, user:<subject>, import:<job>, system:<task>")
    action: str
    target: str
    fields: list[str]
    changes: list[AuditChangePublic] = []
    redacted: bool = Field(default=False, description="Values deleted on erasure; commitments kept")
    format: int = Field(
        default=1,
        description="1: each value committed to on its own (`changes[].*_commitment`); "
        "2: all the entry's values as one (`values_commitment`), and `format` is chained",
    )
    values_commitment: str | None = Field(
        default=None,
        description="Format 2: sha256(salt || canonical JSON of [[field, before, after], ...])",
    )
    event_id: str | None
    prev_hash: str
    hash: str


class AuditPagePublic(BaseModel):
    """A page of audit entries, oldest first."""

    items: list[AuditEntryPublic]
    next_cursor: str | None


class ChainReportPublic(BaseModel):
    """The result of verifying the tenant's hash chain."""

    valid: bool
    checked: int
    first_broken_seq: int | None


class RecordConsentPublic(PurposeConsentPublic):
    """A current consent of one of the person's records."""

    contact_id: str


class DataExportPublic(BaseModel):
    """Everything the platform holds about a person, over every record (JSON and CSV)."""

    export_id: str
    contact_id: str = Field(description="The record asked for, or the first live one")
    contact: dict[str, Any]
    records: list[dict[str, Any]] = Field(description="Every record: fields and lifecycle")
    custom_fields: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    consents: list[RecordConsentPublic]
    import_rows: list[dict[str, Any]] = Field(
        description="Rows of imported files that mention the person (failed, or imported with "
        "warnings): the import, the row number, what happened and the row's cells."
    )
    audit: list[AuditEntryPublic]
    csv: dict[str, str] = Field(description="Each section as CSV text")
    held_elsewhere: list[dict[str, str]] = Field(
        default=[],
        description="Short-lived copies outside the services' stores that may mention the "
        "person (the console's held import uploads): who holds them, how long, and erasure",
    )
    generated_at: str
    expires_at: str | None = Field(
        default=None, description="When the kept bundle is deleted (GDPR_BUNDLE_RETENTION_HOURS)"
    )


_CURSOR = CursorCodec(Integer(minimum=0), max_length=64)


def encode_cursor(seq: int) -> str:
    """An opaque cursor continuing after `seq`."""
    return _CURSOR.encode([seq])


def decode_cursor(cursor: str) -> int:
    """The seq a cursor continues after; 400 for a cursor this API did not issue."""
    [seq] = _CURSOR.decode(cursor)
    return cast(int, seq)


_ERASURE_CURSOR = CursorCodec(ID, max_length=100)
# The moments the store keeps (crm_shared.clock.iso): fixed width, so text order is time order.
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_DUE_CURSOR = CursorCodec(Text(pattern=_MOMENT), ID, max_length=200)


def encode_erasure_cursor(last: ErasureRequest, order: ErasureOrder = "received_at") -> str:
    """An opaque cursor continuing after the request `last` in `order`.

    The default order's cursor is the one this API issued before it sorted; every other cursor is
    bound to its order, so one passed with another sort is a 400, never a page that skips or
    repeats requests.
    """
    if order == "received_at":
        return _ERASURE_CURSOR.encode([last.id])
    if order == "-received_at":
        return _ERASURE_CURSOR.encode([last.id], sort=order)
    return _DUE_CURSOR.encode_position(Cursor(value=last.due_at, id=last.id), sort=order)


def decode_erasure_cursor(cursor: str, order: ErasureOrder = "received_at") -> Cursor:
    """The position a cursor continues after; 400 for a cursor this API did not issue for
    `order`."""
    if order in ("received_at", "-received_at"):
        bound_to = None if order == "received_at" else order
        [erasure_id] = _ERASURE_CURSOR.decode(cursor, sort=bound_to)
        return Cursor(value=erasure_id, id=cast(str, erasure_id))
    return _DUE_CURSOR.decode_position(cursor, sort=order)
