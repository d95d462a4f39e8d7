"""The derived-fields backfill in the background: run once to the end, on one replica."""

from __future__ import annotations

import asyncio
import logging

from crm_contacts.service_layer.derived_backfill import backfill_derived_fields
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)


async def run_backfill_loop(store: DocumentStore, *, retry_seconds: float = 60.0) -> None:
    """Backfill until every tenant is done, then idle until cancelled.

    Idle rather than return: the lease runner would start finished work again. A new version of
    the derived fields comes with new code, hence a restart, which runs it.
    """
    while True:
        try:
            await backfill_derived_fields(store)
        except Exception:
            # The progress of every committed chunk is kept: the retry resumes after it.
            log.exception("derived-fields backfill failed; retrying")
            await asyncio.sleep(retry_seconds)
            continue
        await asyncio.Event().wait()
