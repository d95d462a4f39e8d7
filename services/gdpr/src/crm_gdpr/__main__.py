"""`python -m crm_gdpr`: run the gdpr service."""

from __future__ import annotations

from crm_gdpr.bootstrap import create_app
from crm_gdpr.settings import GdprSettings
from crm_shared.service import serve


def main() -> None:
    """Read the settings from the environment and serve HTTP until stopped."""
    settings = GdprSettings()
    serve(
        create_app(settings),
        service="gdpr",
        host=settings.gdpr_host,
        port=settings.gdpr_port,
        log_level=settings.crm_log_level,
    )


if __name__ == "__main__":
    main()
