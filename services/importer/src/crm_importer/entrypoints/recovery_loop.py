"""The periodic recovery: a crashed instance's work is cleaned up while the others keep running.

Recovery at start-up alone left a crashed replica's exports `running` until some importer next
started; one instance at a time (the lease's holder) now runs it every interval as well.
"""

from __future__ import annotations

import asyncio
import logging

from crm_importer.adapters.files import DataFiles
from crm_importer.service_layer.recovery import recover
from crm_shared.presence import Presence
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)


async def run_recovery_loop(
    store: DocumentStore, files: DataFiles, presence: Presence, *, interval_seconds: float
) -> None:
    """Recover every `interval_seconds` until cancelled."""
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await recover(store, files, presence)
        except Exception:
            # Tried again at the next interval; the loop must not die of one failure.
            log.exception("periodic importer recovery failed")
