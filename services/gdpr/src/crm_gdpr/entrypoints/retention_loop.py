"""The background retention of access bundles: expired ones are deleted (and audited)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from crm_gdpr.service_layer.bundle_retention import delete_expired_bundles
from crm_gdpr.settings import GdprSettings
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)


async def run_retention_loop(
    store: DocumentStore, settings: GdprSettings, *, clock: Callable[[], datetime]
) -> None:
    """Look for expired bundles every `gdpr_retention_check_seconds` until cancelled."""
    while True:
        try:
            while await delete_expired_bundles(store, now=clock()):
                pass  # a full batch may leave more behind it
        except Exception:
            # Tried again at the next interval; the loop must not die of one failure.
            log.exception("deleting expired access bundles failed")
        await asyncio.sleep(settings.gdpr_retention_check_seconds)
