"""Settings of the timeline service, read from the environment."""

from __future__ import annotations

from pydantic import Field

from crm_shared.settings import PlatformSettings


class TimelineSettings(PlatformSettings):
    """Platform settings plus where the timeline service listens."""

    timeline_host: str = "127.0.0.1"
    timeline_port: int = 8002
    timeline_unknown_contact_wait_seconds: float = Field(
        default=60.0,
        gt=0,
        le=86400,
        description="How long an activity from a topic waits for its contact's first event "
        "before it is dead-lettered as unknown-contact",
    )
    timeline_parked_check_seconds: float = Field(default=1.0, gt=0, le=3600)
