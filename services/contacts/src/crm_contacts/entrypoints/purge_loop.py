"""The background purge of expired soft deletions and kept import batch results, across tenants."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from crm_contacts.service_layer.import_batch_retention import purge_import_batches
from crm_contacts.service_layer.retention import purge_expired
from crm_contacts.settings import ContactsSettings
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)


async def run_purge_loop(
    store: DocumentStore, settings: ContactsSettings, *, clock: Callable[[], datetime]
) -> None:
    """Purge shortly after start, then every `contacts_purge_interval_seconds`, until cancelled."""
    await asyncio.sleep(settings.contacts_purge_first_run_seconds)
    while True:
        try:
            await purge_expired(store, now=clock(), retention_days=settings.contacts_retention_days)
        except Exception:
            # A failed purge is retried at the next interval; the loop must not die of it.
            log.exception("purge of expired soft-deleted contacts failed")
        try:
            await purge_import_batches(
                store, now=clock(), retention_days=settings.contacts_import_batch_retention_days
            )
        except Exception:
            log.exception("purge of kept import batch results failed")
        await asyncio.sleep(settings.contacts_purge_interval_seconds)
