"""A contact's current consents, from the gdpr ledger's decisions: which one holds, what is granted.

Decisions can arrive out of order (a redelivery, a retry): the one that took effect last wins per
(purpose, channel), whatever order they came in. What "granted" means across channels ("any"
applies to every channel) is the shared rule of `crm_shared.consent`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from crm_shared.consent import ConsentDecision, granted_tokens
from crm_shared.events import ConsentChanged

# What `GET /v1/contacts/{id}/consents` shows of each decision.
PUBLIC_KEYS = (
    "purpose",
    "channel",
    "status",
    "effective_at",
    "lawful_basis",
    "source",
    "notice_version",
    "entry_id",
)


def decision_doc(
    event: ConsentChanged, *, id: str, tenant: str, effective_at: str
) -> dict[str, Any]:
    """The stored form of one ledger decision about a contact."""
    return {
        "id": id,
        "tenant": tenant,
        "contact_id": event.contact_id,
        "purpose": event.purpose,
        "channel": event.channel,
        "status": event.status,
        "effective_at": effective_at,
        "lawful_basis": event.lawful_basis,
        "source": event.source,
        "notice_version": event.notice_version,
        "entry_id": event.entry_id,
    }


def _decision(doc: Mapping[str, Any]) -> ConsentDecision:
    return ConsentDecision(
        purpose=str(doc["purpose"]),
        channel=str(doc["channel"]),
        granted=doc["status"] == "granted",
        effective_at=str(doc["effective_at"]),
        entry_id=str(doc["entry_id"]),
    )


def supersedes(new: Mapping[str, Any], held: Mapping[str, Any] | None) -> bool:
    """Whether a decision replaces the one held for its (purpose, channel)."""
    return held is None or _decision(new).order > _decision(held).order


def granted(docs: Iterable[Mapping[str, Any]]) -> list[str]:
    """The `purpose:channel` pairs granted now, given every decision held for a contact."""
    return granted_tokens(_decision(doc) for doc in docs)


def public_consents(contact_id: str, docs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The contact's current consents as the API shows them."""
    held = sorted(docs, key=lambda d: (str(d["purpose"]), str(d["channel"])))
    return {
        "contact_id": contact_id,
        "granted": granted(held),
        "consents": [{key: doc.get(key) for key in PUBLIC_KEYS} for doc in held],
    }
