"""`python -m crm_timeline` starts the timeline service."""

from __future__ import annotations

import uvicorn

from crm_shared.runtime import configure_logging
from crm_timeline.bootstrap import create_app
from crm_timeline.settings import TimelineSettings


def main() -> None:
    """Read the settings from the environment and serve until stopped."""
    settings = TimelineSettings()
    configure_logging("timeline", settings.crm_log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.timeline_host,
        port=settings.timeline_port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
