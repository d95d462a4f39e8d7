"""UTC timestamps in one sortable text format, used in documents and events."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Format a datetime as fixed-width ISO-8601 UTC text, so text order equals time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso() -> str:
    """Return the current time as fixed-width ISO-8601 UTC text."""
    return iso(utcnow())
