"""HTTP bodies of the forms API (the definition's rules are in domain/forms.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from crm_contacts.domain.forms import VALUE_MAX, ConsentPurpose


class FormPublic(BaseModel):
    """A form as admins see it, with the public key a web page embeds to post it."""

    id: str
    name: str
    fields: dict[str, str]
    consent_purposes: list[ConsentPurpose]
    allowed_origins: list[str]
    notice_version: str | None
    key: str = Field(description="The public form key: send it as X-Form-Key with submissions")
    submit_url: str = Field(description="Where a submission is posted")
    created_at: str


class FormList(BaseModel):
    """The tenant's forms, oldest first."""

    items: list[FormPublic]


class FormSubmission(BaseModel):
    """Body of `POST /v1/forms/{form_id}/submissions`."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, str | None] = Field(
        description=f"Values by the form's field names (text of at most {VALUE_MAX} characters)"
    )
    consents: list[str] = Field(
        default=[], max_length=20, description="The consent purposes the person ticked"
    )


class SubmissionAccepted(BaseModel):
    """The submission was recorded (the same answer whether the person was known or not)."""

    status: str = "accepted"
