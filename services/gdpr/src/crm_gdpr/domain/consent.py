"""The consent ledger: every change is a new entry; the current status is the latest per purpose."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.consent import PURPOSE_PATTERN
from crm_shared.events.gdpr import ConsentChanged, ConsentChannel
from crm_shared.events.gdpr import LawfulBasis as PublishedLawfulBasis

__all__ = ["PURPOSE_PATTERN"]  # the shared rule, read by the API schemas from here

ConsentStatus = Literal["granted", "withdrawn"]
# One definition with the published ConsentChanged event.
Channel = ConsentChannel
LawfulBasis = PublishedLawfulBasis


class RecordConsent(BaseModel):
    """Command: record a consent decision of a contact for one purpose and channel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_id: str
    purpose: str = Field(pattern=PURPOSE_PATTERN)
    status: ConsentStatus
    channel: Channel = "any"
    lawful_basis: LawfulBasis = "consent"
    source: str | None = Field(default=None, max_length=200)
    notice_version: str | None = Field(default=None, max_length=64)


class ConsentEntry(BaseModel):
    """One immutable ledger entry."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str
    contact_id: str
    purpose: str
    channel: Channel
    status: ConsentStatus
    lawful_basis: LawfulBasis
    source: str | None
    notice_version: str | None
    recorded_at: str
    recorded_by: str
    # Set on the entries a merge copied from a duplicate onto the primary.
    merge_id: str | None = None
    merged_from: str | None = None
    # When an erasure took the personal values out (`source`, free text that may name the
    # person); what was decided, when, on which notice and by whom stays as proof.
    redacted_at: str | None = None

    @classmethod
    def record(
        cls, command: RecordConsent, *, id: str, tenant: str, recorded_at: str, recorded_by: str
    ) -> ConsentEntry:
        """The ledger entry a command produces."""
        return cls(
            id=id,
            tenant=tenant,
            recorded_at=recorded_at,
            recorded_by=recorded_by,
            **command.model_dump(),
        )

    def changed(self) -> ConsentChanged:
        """The event announcing this entry, with every attribute the ledger holds about it."""
        return ConsentChanged(
            contact_id=self.contact_id,
            purpose=self.purpose,
            status=self.status,
            entry_id=self.id,
            channel=self.channel,
            lawful_basis=self.lawful_basis,
            source=self.source,
            notice_version=self.notice_version,
        )

    def redacted(self, *, at: str) -> ConsentEntry:
        """The entry without its personal values (erasure)."""
        return self.model_copy(update={"source": None, "redacted_at": at})

    def public(self) -> dict[str, Any]:
        """The entry as the API shows it (without the tenant)."""
        return self.model_dump(exclude={"tenant"})


class PurposeConsent(BaseModel):
    """The current status of one (purpose, channel) and every entry that led to it."""

    model_config = ConfigDict(frozen=True)

    purpose: str
    channel: Channel
    status: ConsentStatus
    updated_at: str
    history: list[ConsentEntry]


def current_consents(entries: Iterable[ConsentEntry]) -> list[PurposeConsent]:
    """Group a contact's entries per (purpose, channel); the latest recorded entry decides."""
    grouped: dict[tuple[str, str], list[ConsentEntry]] = {}
    # Ids are time-ordered, so they break ties between entries recorded in the same microsecond.
    for entry in sorted(entries, key=lambda e: (e.recorded_at, e.id)):
        grouped.setdefault((entry.purpose, entry.channel), []).append(entry)
    return [
        PurposeConsent(
            purpose=history[-1].purpose,
            channel=history[-1].channel,
            status=history[-1].status,
            updated_at=history[-1].recorded_at,
            history=history,
        )
        for _, history in sorted(grouped.items())
    ]
