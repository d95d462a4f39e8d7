"""Each deployable service's settings class, app factory and env names, read from its code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from crm_console.bootstrap import create_app as console_app
from crm_console.settings import ConsoleSettings
from crm_contacts.bootstrap import create_app as contacts_app
from crm_contacts.settings import ContactsSettings
from crm_gdpr.bootstrap import create_app as gdpr_app
from crm_gdpr.settings import GdprSettings
from crm_importer.bootstrap import create_app as importer_app
from crm_importer.settings import ImporterSettings
from crm_timeline.bootstrap import create_app as timeline_app
from crm_timeline.settings import TimelineSettings


@dataclass(frozen=True)
class Deployable:
    """A service as deployed: its settings class and the app it serves."""

    name: str
    settings: type[BaseSettings]
    app: Callable[[], FastAPI]

    @property
    def port(self) -> int:
        """The port the service listens on unless told otherwise (its settings' default)."""
        default = self.settings.model_fields[f"{self.name}_port"].default
        assert isinstance(default, int)
        return default

    def env_names(self) -> set[str]:
        """Every environment variable its settings read (upper case, aliases included)."""
        names: set[str] = set()
        for field_name, field in self.settings.model_fields.items():
            names.add(field_name.upper())
            alias = field.validation_alias
            if isinstance(alias, AliasChoices):
                names.update(str(choice).upper() for choice in alias.choices)
            elif isinstance(alias, str):
                names.add(alias.upper())
        return names

    def served_paths(self) -> set[str]:
        """The paths the service's app routes (built, not started)."""
        return {getattr(route, "path", "") for route in self.app().routes}


DEPLOYABLES = {
    d.name: d
    for d in (
        Deployable("contacts", ContactsSettings, lambda: contacts_app(ContactsSettings())),
        Deployable("timeline", TimelineSettings, lambda: timeline_app(TimelineSettings())),
        Deployable("importer", ImporterSettings, lambda: importer_app(ImporterSettings())),
        Deployable("gdpr", GdprSettings, lambda: gdpr_app(GdprSettings())),
        Deployable("console", ConsoleSettings, lambda: console_app(ConsoleSettings())),
    )
}

# Read by libraries rather than by a settings class (crm_shared.observability.tracing).
STANDARD_PREFIXES = ("OTEL_",)


def unknown_env(service: str, names: set[str]) -> set[str]:
    """The names among `names` that the service does not read."""
    known = DEPLOYABLES[service].env_names()
    return {n for n in names if n not in known and not n.startswith(STANDARD_PREFIXES)}
