"""The background deletion of finished jobs' kept data, across tenants, started with the app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from crm_importer.adapters.files import DataFiles
from crm_importer.service_layer.retention import delete_expired_job_data
from crm_importer.settings import ImporterSettings
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)


async def run_retention_loop(
    store: DocumentStore,
    files: DataFiles,
    settings: ImporterSettings,
    *,
    clock: Callable[[], datetime],
) -> None:
    """Delete due job data now and then every `importer_retention_interval_seconds`."""
    while True:
        try:
            await delete_expired_job_data(
                store, files, now=clock(), retention_days=settings.importer_retention_days
            )
        except Exception:
            # Retried at the next interval; the loop must not die of one failure.
            log.exception("deleting finished jobs' kept data failed")
        await asyncio.sleep(settings.importer_retention_interval_seconds)
