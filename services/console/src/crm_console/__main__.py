"""`python -m crm_console`: run the admin console."""

from __future__ import annotations

from crm_console.bootstrap import create_app
from crm_console.settings import ConsoleSettings
from crm_shared.service import serve


def main() -> None:
    """Read the settings from the environment and serve the console until stopped."""
    settings = ConsoleSettings()
    serve(
        create_app(settings),
        service="console",
        host=settings.console_host,
        port=settings.console_port,
        log_level=settings.crm_log_level,
    )


if __name__ == "__main__":
    main()
