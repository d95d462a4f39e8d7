"""The data-subject access request (GDPR Art. 15) command and what its bundle holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from crm_shared.contact_fields import PUBLIC_FIELDS

# What a bundle holds; the audit entry of an export names these sections, never their content.
EXPORT_SECTIONS: tuple[str, ...] = ("contact", "timeline", "consents", "audit")


class ExportSubjectData(BaseModel):
    """Command: gather everything held about a contact for a data-subject access request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_id: str


def contact_section(contact: Mapping[str, Any]) -> dict[str, Any]:
    """The contact's fields a bundle holds: the public ones of the shared table, as sent."""
    return {name: contact[name] for name in PUBLIC_FIELDS if name in contact}
