"""`python -m crm_gdpr` starts the gdpr service."""

from __future__ import annotations

import uvicorn

from crm_gdpr.bootstrap import create_app
from crm_gdpr.settings import GdprSettings
from crm_shared.runtime import configure_logging


def main() -> None:
    """Build the settings, configure logging and serve the app."""
    settings = GdprSettings()
    configure_logging("gdpr", settings.crm_log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.gdpr_host,
        port=settings.gdpr_port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
