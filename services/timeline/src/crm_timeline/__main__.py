"""`python -m crm_timeline`: run the timeline service."""

from __future__ import annotations

from crm_shared.service import serve
from crm_timeline.bootstrap import create_app
from crm_timeline.settings import TimelineSettings


def main() -> None:
    """Read the settings from the environment and serve HTTP until stopped."""
    settings = TimelineSettings()
    serve(
        create_app(settings),
        service="timeline",
        host=settings.timeline_host,
        port=settings.timeline_port,
        log_level=settings.crm_log_level,
    )


if __name__ == "__main__":
    main()
