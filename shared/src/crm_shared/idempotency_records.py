"""Storage of idempotency keys: one record per (tenant, caller, key), kept 24 hours.

A record is claimed (`in_flight`) before the request does its work and completed (`done`, with
the response) in the transaction that commits the work (`crm_shared.idempotent_work`); a failed
request releases it so a retry with the same key does the work.
Every service declares `IDEMPOTENCY_COLLECTION` among its collection specs.

A kept answer may quote personal data (a created contact, a note, a data-subject export), so a
record notes the contact ids it is about (`subjects`), and each service's erasure handler calls
`forget_subject` in its transaction: after an erasure no kept answer quotes the person.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import orjson

from crm_shared.clock import iso
from crm_shared.storage import (
    CollectionSpec,
    ConcurrentWriteError,
    Contains,
    DocumentStore,
    DuplicateKeyError,
    Eq,
    Index,
    Range,
    Session,
    Where,
)

IDEMPOTENCY_KEYS = "idempotency_keys"
IDEMPOTENCY_COLLECTION = CollectionSpec(IDEMPOTENCY_KEYS, indexes=(Index(("expires_at",)),))
# How long a key answers with its first response.
KEY_TTL = timedelta(hours=24)
# How long an in-flight claim holds: a request still running after this is taken to have died
# with its process, and the key may be used again.
CLAIM_LEASE = timedelta(seconds=60)
# Response headers a replay gives back (with the status and the body).
REPLAYED_HEADERS = frozenset({"content-type", "location", "etag"})

# Where a request or an answer names the contacts it is about.
_ID_KEYS = ("id", "contact_id", "primary_id")
_ID_LIST_KEYS = ("duplicate_ids", "contact_ids")

ClaimOutcome = Literal["claimed", "replay", "in_flight", "mismatch"]


@dataclass(frozen=True)
class StoredResponse:
    """The first answer given to a key: what a replay sends back."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class ClaimResult:
    """What claiming a key found: it is ours now, or answered, busy or used for another request."""

    outcome: ClaimOutcome
    response: StoredResponse | None = None


def record_id(*, tenant: str, principal: str, key: str) -> str:
    """A record id unique across tenants (MongoDB ids are global) that does not show the key."""
    digest = hashlib.sha256(f"{tenant}\0{principal}\0{key}".encode()).hexdigest()
    return f"idem_{digest[:40]}"


def request_fingerprint(method: str, path: str, query: str, body_digest: str) -> str:
    """What a key is bound to: the method, the path, the query string and the body's digest."""
    return hashlib.sha256(f"{method}\0{path}\0{query}\0{body_digest}".encode()).hexdigest()


def parsed(body: bytes) -> object:
    """The JSON a body holds, or None."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def json_body_digest(body: bytes) -> str:
    """SHA-256 of a JSON body in canonical form (sorted keys), of the raw bytes if not JSON."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError, TypeError):
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def subjects_of(*sources: object) -> list[str]:
    """The contact ids a request or an answer is about (`id`, `contact_id`, `primary_id`,
    `duplicate_ids`, `contact_ids`, and the `id` of a nested `contact`)."""
    found: list[str] = []
    for source in sources:
        if not isinstance(source, dict):
            continue
        found += [v for k in _ID_KEYS if isinstance(v := source.get(k), str)]
        for key in _ID_LIST_KEYS:
            values = source.get(key)
            if isinstance(values, list):
                found += [v for v in values if isinstance(v, str)]
        if isinstance(contact := source.get("contact"), dict):
            found += subjects_of(contact)
    return found


def _stored(doc: dict[str, Any]) -> StoredResponse:
    response = doc["response"]
    return StoredResponse(
        status=int(response["status"]),
        headers=[(str(k), str(v)) for k, v in response["headers"]],
        body=base64.b64decode(response["body"]),
    )


def _reusable(doc: dict[str, Any], now: datetime) -> bool:
    if doc["expires_at"] <= iso(now):
        return True
    return bool(doc["state"] == "in_flight" and doc["lease_until"] <= iso(now))


async def claim(
    store: DocumentStore,
    *,
    tenant: str,
    id: str,
    fingerprint: str,
    now: datetime,
    subjects: list[str] | None = None,
    lease: timedelta = CLAIM_LEASE,
    ttl: timedelta = KEY_TTL,
) -> ClaimResult:
    """Claim a key for this request, or say why not (answered before, in flight, other body)."""
    fresh = {
        "id": id,
        "tenant": tenant,
        "fingerprint": fingerprint,
        "state": "in_flight",
        "subjects": sorted(set(subjects or [])),
        "created_at": iso(now),
        "lease_until": iso(now + lease),
        "expires_at": iso(now + ttl),
    }
    try:
        async with store.transaction() as session:
            doc = await session.get(IDEMPOTENCY_KEYS, tenant=tenant, id=id)
            if doc is not None and _reusable(doc, now):
                await session.delete(IDEMPOTENCY_KEYS, tenant=tenant, id=id)
                doc = None
            if doc is None:
                await session.insert(IDEMPOTENCY_KEYS, fresh)
                return ClaimResult("claimed")
    except (DuplicateKeyError, ConcurrentWriteError):
        # Another request took the same key between our read and our write (MongoDB).
        return ClaimResult("in_flight")
    if doc["fingerprint"] != fingerprint:
        return ClaimResult("mismatch")
    if doc["state"] == "in_flight":
        return ClaimResult("in_flight")
    return ClaimResult("replay", _stored(doc))


async def complete(
    store: DocumentStore,
    *,
    tenant: str,
    id: str,
    response: StoredResponse,
    subjects: list[str] | None = None,
) -> None:
    """Keep the first answer for replays (until the key expires), in a transaction of its own."""
    async with store.transaction() as session:
        await complete_in(session, tenant=tenant, id=id, response=response, subjects=subjects)


async def complete_in(
    session: Session,
    *,
    tenant: str,
    id: str,
    response: StoredResponse,
    subjects: list[str] | None = None,
) -> None:
    """Keep the first answer in the caller's transaction (the one that commits the work)."""
    doc = await session.get(IDEMPOTENCY_KEYS, tenant=tenant, id=id)
    if doc is None:
        return
    doc["state"] = "done"
    doc["subjects"] = sorted({*doc.get("subjects", []), *(subjects or [])})
    doc["response"] = {
        "status": response.status,
        "headers": [[k, v] for k, v in response.headers],
        "body": base64.b64encode(response.body).decode("ascii"),
    }
    await session.replace(IDEMPOTENCY_KEYS, doc)


async def release(store: DocumentStore, *, tenant: str, id: str) -> None:
    """Forget an in-flight claim whose request failed, so a retry with the key does the work."""
    async with store.transaction() as session:
        await session.delete(IDEMPOTENCY_KEYS, tenant=tenant, id=id)


async def purge_expired(store: DocumentStore, *, tenants: list[str], now: datetime) -> int:
    """Delete the expired keys of these tenants (their responses may hold personal data)."""
    removed = 0
    for tenant in tenants:
        async with store.transaction() as session:
            removed += await session.delete_where(
                IDEMPOTENCY_KEYS, tenant=tenant, where=[Range("expires_at", lte=iso(now))]
            )
    return removed


async def forget_subject(session: Session, *, tenant: str, contact_id: str) -> int:
    """Delete the kept answers about a contact (erasure), in the caller's transaction."""
    where: list[Where] = [Eq("state", "done"), Contains("subjects", contact_id)]
    return await session.delete_where(IDEMPOTENCY_KEYS, tenant=tenant, where=where)
