"""`python -m crm_importer`: run the importer service."""

from __future__ import annotations

import uvicorn

from crm_importer.bootstrap import create_app
from crm_importer.settings import ImporterSettings
from crm_shared.runtime import configure_logging


def main() -> None:
    """Read the settings from the environment and serve the API."""
    settings = ImporterSettings()
    configure_logging("importer", settings.crm_log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.importer_host,
        port=settings.importer_port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
