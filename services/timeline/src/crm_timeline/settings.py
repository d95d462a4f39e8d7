"""Settings of the timeline service, read from the environment."""

from __future__ import annotations

from crm_shared.settings import PlatformSettings


class TimelineSettings(PlatformSettings):
    """Platform settings plus where the timeline service listens."""

    timeline_host: str = "127.0.0.1"
    timeline_port: int = 8002
