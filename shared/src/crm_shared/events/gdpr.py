"""GDPR events: consent changes and the erasure saga (request, per-service receipts, completion)."""

from __future__ import annotations

from typing import Literal

from crm_shared.envelope import EventData
from crm_shared.topics import CONTACT_EVENTS, ERASURE_RECEIPTS, GDPR_EVENTS

ERASURE_PARTICIPANTS: tuple[str, ...] = ("contacts", "timeline", "importer", "gdpr")

# The channels a consent applies to ("any" means every channel) and the GDPR Art. 6 bases.
ConsentChannel = Literal["email", "sms", "phone", "chat", "any"]
LawfulBasis = Literal[
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
]


class ConsentChanged(EventData):
    """A consent ledger entry was recorded for a contact, for one purpose on one channel.

    "marketing withdrawn on sms" leaves marketing on other channels as it was; `channel` "any"
    applies to every channel. `source` says where the decision was given (e.g. a form) and
    `notice_version` which privacy notice the person saw.
    """

    event_type = "crm.gdpr.consent.changed.v1"
    topic = GDPR_EVENTS.name

    contact_id: str
    purpose: str
    status: Literal["granted", "withdrawn"]
    entry_id: str
    channel: ConsentChannel = "any"
    lawful_basis: LawfulBasis = "consent"
    source: str | None = None
    notice_version: str | None = None


class ErasureRequested(EventData):
    """Every service holding data about the contact must anonymize it and send a receipt.

    `identifier_hashes` are keyed HMACs of the person's normalized emails and phones, so services
    can find data that is not linked by contact id (for example a failed import row).
    """

    event_type = "crm.gdpr.erasure.requested.v1"
    topic = GDPR_EVENTS.name

    erasure_id: str
    contact_id: str
    identifier_hashes: list[str] = []


class ErasureReceipt(EventData):
    """A service reports that it erased (or failed to erase) a contact's data."""

    event_type = "crm.gdpr.erasure.receipt.v1"
    topic = ERASURE_RECEIPTS.name

    erasure_id: str
    contact_id: str
    service: str
    status: Literal["completed", "failed"]
    detail: str | None = None


class ErasureCompleted(EventData):
    """All services confirmed the erasure (GDPR Art. 19: other products learn of it here)."""

    event_type = "crm.gdpr.erasure.completed.v1"
    topic = GDPR_EVENTS.name

    erasure_id: str
    contact_id: str
    status: Literal["completed", "failed"]


class SuppressionLifted(EventData):
    """An admin took one keyed hash off the suppression list, giving a reason (audited).

    Published by the contacts service, which keeps the list; `identifier_hash` is the keyed HMAC,
    never the email or phone, and `reason` is the admin's words (no personal data expected).
    """

    event_type = "crm.contacts.suppression.lifted.v1"
    topic = CONTACT_EVENTS.name

    identifier_hash: str
    reason: str
    suppressed_at: str | None = None
