"""The data-subject access request (GDPR Art. 15) command."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# What a bundle holds; the audit entry of an export names these sections, never their content.
EXPORT_SECTIONS: tuple[str, ...] = ("contact", "timeline", "consents", "audit")


class ExportSubjectData(BaseModel):
    """Command: gather everything held about a contact for a data-subject access request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contact_id: str
