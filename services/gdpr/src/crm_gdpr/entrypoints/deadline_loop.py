"""The background check of erasure deadlines: open requests past 80% of their time are logged."""

from __future__ import annotations

import asyncio
import logging

from crm_gdpr.service_layer.erasure import flag_overdue
from crm_gdpr.settings import GdprSettings
from crm_shared.clock import utcnow
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)


async def run_deadline_loop(store: DocumentStore, settings: GdprSettings) -> None:
    """Check every `gdpr_deadline_check_seconds` until cancelled."""
    while True:
        try:
            await flag_overdue(store, now=utcnow())
        except Exception:
            # Checked again at the next interval; the loop must not die of one failure.
            log.exception("checking erasure deadlines failed")
        await asyncio.sleep(settings.gdpr_deadline_check_seconds)
