"""The background check of erasure requests: late ones are logged, unanswered commands resent."""

from __future__ import annotations

import asyncio
import logging

from crm_gdpr.service_layer.erasure import flag_overdue
from crm_gdpr.service_layer.erasure_resend import resend_unanswered
from crm_gdpr.settings import GdprSettings
from crm_shared.clock import utcnow
from crm_shared.storage import DocumentStore

log = logging.getLogger(__name__)


async def run_deadline_loop(store: DocumentStore, settings: GdprSettings) -> None:
    """Check every `gdpr_deadline_check_seconds` until cancelled."""
    while True:
        try:
            await flag_overdue(store, now=utcnow())
            await resend_unanswered(
                store,
                now=utcnow(),
                interval_seconds=settings.gdpr_erasure_resend_seconds,
                max_attempts=settings.gdpr_erasure_resend_attempts,
            )
        except Exception:
            # Checked again at the next interval; the loop must not die of one failure.
            log.exception("checking erasure deadlines failed")
        await asyncio.sleep(settings.gdpr_deadline_check_seconds)
