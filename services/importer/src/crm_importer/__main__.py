"""`python -m crm_importer`: run the importer service."""

from __future__ import annotations

from crm_importer.bootstrap import create_app
from crm_importer.settings import ImporterSettings
from crm_shared.service import serve


def main() -> None:
    """Read the settings from the environment and serve HTTP until stopped."""
    settings = ImporterSettings()
    serve(
        create_app(settings),
        service="importer",
        host=settings.importer_host,
        port=settings.importer_port,
        log_level=settings.crm_log_level,
    )


if __name__ == "__main__":
    main()
