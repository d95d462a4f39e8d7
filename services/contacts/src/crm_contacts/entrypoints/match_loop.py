"""The background refresh of duplicate pairs: drains the re-match queue, every tenant."""

from __future__ import annotations

import asyncio
import logging

from crm_contacts.service_layer.duplicates import IMPORT_QUIET_SECONDS, refresh_queued
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)


async def run_match_loop(
    store: DocumentStore, *, idle_seconds: float, import_quiet: float = IMPORT_QUIET_SECONDS
) -> None:
    """Recompute queued contacts' pairs as they come; wait `idle_seconds` when none are ready.

    An import's contacts are ready once its batches stopped arriving `import_quiet` seconds ago.
    """
    while True:
        try:
            handled = await refresh_queued(store, import_quiet=import_quiet)
        except Exception:
            # The entries stay queued and are retried; the loop must not die of one failure.
            log.exception("refreshing duplicate pairs failed")
            handled = 0
        if not handled:
            await asyncio.sleep(idle_seconds)
        else:
            # A long queue is drained round by round: whoever waits for the loop goes first.
            await asyncio.sleep(0)
