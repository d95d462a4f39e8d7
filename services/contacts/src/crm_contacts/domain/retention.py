"""Retention of soft-deleted contacts: restorable for a while, then purged for good."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from crm_shared.clock import iso


def purge_cutoff(now: datetime, retention_days: int) -> str:
    """Contacts soft-deleted before this moment (stored-timestamp text) are due for purging."""
    return iso(now - timedelta(days=retention_days))


def is_purgeable(doc: Mapping[str, Any], cutoff: str) -> bool:
    """Soft-deleted before the cutoff and not erased.

    An erased contact keeps its tombstone (no personal data left), so it still answers 410.
    """
    deleted_at = doc.get("deleted_at")
    return deleted_at is not None and deleted_at < cutoff and doc.get("erased_at") is None


def still_waiting(doc: Mapping[str, Any], cutoff: str) -> bool:
    """Soft-deleted, not erased, but not yet past the retention period."""
    deleted_at = doc.get("deleted_at")
    return deleted_at is not None and deleted_at >= cutoff and doc.get("erased_at") is None
