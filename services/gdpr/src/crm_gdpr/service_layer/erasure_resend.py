"""Erasure commands sent again: a record still missing a receipt gets its command once more.

In embedded mode a broker restart can lose records, an erasure command among them; the request
then stayed open (flagged overdue) for ever. Each open request is watched: once its interval has
passed with a receipt still missing, its commands for those records go out again (new event ids,
so every service handles them; each treats a repeat as a repeat and answers with its receipt),
up to a number of attempts, the interval doubling after each.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from crm_gdpr.adapters.repositories import ErasureRepository
from crm_gdpr.service_layer.erasure import requested_events
from crm_shared.actors import system_actor
from crm_shared.clock import iso
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)

ACTOR = system_actor("erasure")


async def resend_unanswered(
    store: DocumentStore,
    *,
    now: datetime,
    interval_seconds: float,
    max_attempts: int,
    limit: int = 100,
) -> int:
    """Send again the commands of every due request still missing receipts; how many records."""
    async with store.reader() as session:
        due = await ErasureRepository(session).due_for_resend(iso(now), limit=limit)
    sent = 0
    for watch in due:
        sent += await _resend_one(
            store, watch, now=now, interval_seconds=interval_seconds, max_attempts=max_attempts
        )
    return sent


async def _resend_one(
    store: DocumentStore,
    watch: dict[str, Any],
    *,
    now: datetime,
    interval_seconds: float,
    max_attempts: int,
) -> int:
    async with store.transaction() as session:
        repo = ErasureRepository(session)
        tenant, erasure_id = str(watch["request_tenant"]), str(watch["id"])
        request = await repo.get(tenant, erasure_id)
        if request is None or request.status != "pending" or watch["attempts"] >= max_attempts:
            await repo.unwatch_resend(erasure_id)
            if request is not None and request.status == "pending":
                log.warning("erasure %s lacks receipts after %d resends", erasure_id, max_attempts)
            return 0
        unanswered = {
            str(r["contact_id"])
            for r in await repo.receipts_of(tenant, erasure_id)
            if r["status"] == "pending"
        }
        records = await repo.records_of(tenant, erasure_id)
        events = requested_events(
            request, records, list(watch["hashes"]), actor=ACTOR, only=unanswered
        )
        await session.add_events(events)
        attempts = int(watch["attempts"]) + 1
        later = now + timedelta(seconds=interval_seconds * 2**attempts)
        await repo.save_resend({**watch, "attempts": attempts, "resend_at": iso(later)})
    log.warning(
        "erasure %s: sent the command again for %d record(s) lacking a receipt (attempt %d)",
        erasure_id,
        len(events),
        attempts,
    )
    return len(events)
