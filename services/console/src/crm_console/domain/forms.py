"""A public form (contacts' /v1/forms) as the settings screen edits it, and back.

The screen shows one text box per contact field a form may fill, holding the name the web
page's form uses for it (blank: not on the form); origins one per line; consent checkboxes one
per line as `purpose:channel: what the checkbox says`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crm_console.domain.values import text_or_none

FORM_TARGETS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("company", "Company"),
    ("timezone", "Time zone"),
)
CUSTOM_TARGET = "custom_fields."


class FormInputProblem(ValueError):
    """A line of the form editor the API could not take; the message names it."""


def targets(custom_keys: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every contact field a form may fill, with its label (custom fields after the profile)."""
    return [*FORM_TARGETS, *((f"{CUSTOM_TARGET}{key}", label) for key, label in custom_keys)]


def form_body(values: Mapping[str, str], target_names: Sequence[str]) -> dict[str, Any]:
    """The API's body for the editor's values (`field.<target>`, `origins`, `consents`...)."""
    fields = {
        name: target
        for target in target_names
        if (name := (values.get(f"field.{target}") or "").strip())
    }
    consents = []
    for number, line in enumerate((values.get("consents") or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split(":", 2)]
        if len(parts) != 3 or not all(parts):
            raise FormInputProblem(
                f"consent line {number} must read purpose:channel: label, "
                "such as newsletter:email: Send me the newsletter"
            )
        consents.append({"purpose": parts[0], "channel": parts[1], "label": parts[2]})
    origins = [o.strip() for o in (values.get("origins") or "").splitlines() if o.strip()]
    return {
        "name": (values.get("name") or "").strip(),
        "fields": fields,
        "consent_purposes": consents,
        "allowed_origins": origins,
        "notice_version": text_or_none(values.get("notice_version")),
    }


def form_values(form: Mapping[str, Any]) -> dict[str, str]:
    """The editor's values for a stored form (the reverse of `form_body`)."""
    values = {f"field.{target}": name for name, target in form.get("fields", {}).items()}
    values["name"] = str(form.get("name") or "")
    values["origins"] = "\n".join(form.get("allowed_origins") or [])
    values["consents"] = "\n".join(
        f"{c['purpose']}:{c['channel']}: {c['label']}" for c in form.get("consent_purposes") or []
    )
    values["notice_version"] = str(form.get("notice_version") or "")
    return values
