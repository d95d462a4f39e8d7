"""`python -m crm_contacts`: run the contacts service."""

from __future__ import annotations

import uvicorn

from crm_contacts.bootstrap import create_app
from crm_contacts.settings import ContactsSettings
from crm_shared.runtime import configure_logging


def main() -> None:
    """Read the settings from the environment and serve HTTP until stopped."""
    settings = ContactsSettings()
    configure_logging("contacts", settings.crm_log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.contacts_host,
        port=settings.contacts_port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
