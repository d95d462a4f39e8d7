"""Request bodies and public response shapes of the HTTP API (contract v1)."""

from __future__ import annotations

from typing import Annotated, Any, cast

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from crm_gdpr.domain.consent import PURPOSE_PATTERN, Channel, ConsentStatus, LawfulBasis
from crm_gdpr.domain.erasure import ReceiptStatus, RequestStatus
from crm_shared.cursors import CursorCodec, Integer

CONTACT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
ContactId = Annotated[str, StringConstraints(pattern=CONTACT_ID_PATTERN)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErasureRequestCreate(_Body):
    """Body of `POST /v1/erasure-requests`."""

    contact_id: ContactId


class ConsentCreate(_Body):
    """Body of `POST /v1/contacts/{id}/consents`."""

    purpose: str = Field(pattern=PURPOSE_PATTERN)
    status: ConsentStatus
    source: str | None = Field(default=None, max_length=200)
    channel: Channel = "any"
    lawful_basis: LawfulBasis = "consent"
    notice_version: str | None = Field(default=None, max_length=64)


class DataExportCreate(_Body):
    """Body of `POST /v1/data-exports`."""

    contact_id: ContactId


class ReceiptPublic(BaseModel):
    """One participating service's erasure status."""

    status: ReceiptStatus
    at: str | None
    detail: str | None


class ErasurePublic(BaseModel):
    """An erasure request and its receipts."""

    id: str
    contact_id: str
    status: RequestStatus
    receipts: dict[str, ReceiptPublic]
    requested_by: str
    requested_at: str
    completed_at: str | None


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


class AuditEntryPublic(BaseModel):
    """One audit entry: field names, never values."""

    seq: int
    at: str
    actor: str
    action: str
    target: str
    fields: list[str]
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


class DataExportPublic(BaseModel):
    """Everything the platform holds about a contact."""

    export_id: str
    contact_id: str
    contact: dict[str, Any]
    timeline: list[dict[str, Any]]
    consents: list[PurposeConsentPublic]
    audit: list[AuditEntryPublic]
    generated_at: str


_CURSOR = CursorCodec(Integer(minimum=0), max_length=64)


def encode_cursor(seq: int) -> str:
    """An opaque cursor continuing after `seq`."""
    return _CURSOR.encode([seq])


def decode_cursor(cursor: str) -> int:
    """The seq a cursor continues after; 400 for a cursor this API did not issue."""
    [seq] = _CURSOR.decode(cursor)
    return cast(int, seq)
