"""`python -m crm_contacts`: run the contacts service."""

from __future__ import annotations

from crm_contacts.bootstrap import create_app
from crm_contacts.settings import ContactsSettings
from crm_shared.service import serve


def main() -> None:
    """Read the settings from the environment and serve HTTP until stopped."""
    settings = ContactsSettings()
    serve(
        create_app(settings),
        service="contacts",
        host=settings.contacts_host,
        port=settings.contacts_port,
        log_level=settings.crm_log_level,
    )


if __name__ == "__main__":
    main()
