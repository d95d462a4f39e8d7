"""Public forms: what an admin defines, and how a submission becomes contact fields and consents.

Pure. A form maps its own field names to contact fields, lists the consent purposes it shows,
and the web origins allowed to post it; a submission needs only the form's public key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crm_contacts.domain.errors import FieldProblem, InvalidFields
from crm_shared.consent import PURPOSE_PATTERN  # the gdpr ledger's purpose rule
from crm_shared.events.gdpr import ConsentChannel
from crm_shared.events.sources import GivenConsent
from crm_shared.rules import is_custom_field_key
from crm_shared.validation import Text

# Contact fields a form may fill (a custom value as `custom_fields.<key>`).
FORM_TARGETS: frozenset[str] = frozenset({"name", "email", "phone", "company", "timezone"})
CUSTOM_TARGET = "custom_fields."
FORM_FIELD_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$"
MAX_FORM_FIELDS = 50
MAX_ORIGINS = 20
VALUE_MAX = 1000
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")


def normalize_origin(origin: str) -> str | None:
    """`scheme://host[:port]` in lower case, or None when `origin` is not a web origin."""
    parts = urlsplit(origin.strip().lower())
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    text = f"{parts.scheme}://{parts.netloc}"
    return text if _ORIGIN.fullmatch(text) else None


def _is_target(target: str) -> bool:
    if target in FORM_TARGETS:
        return True
    key = target.removeprefix(CUSTOM_TARGET)
    return target.startswith(CUSTOM_TARGET) and is_custom_field_key(key)


class ConsentPurpose(BaseModel):
    """A consent checkbox the form shows: the ledger purpose, its channel, its wording."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose: str = Field(pattern=PURPOSE_PATTERN)
    channel: ConsentChannel = "any"
    label: Text = Field(min_length=1, max_length=500, description="What the checkbox says")


class CreateForm(BaseModel):
    """Command (and body of `POST /v1/forms`): define a public form."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Text = Field(min_length=1, max_length=200)
    fields: dict[str, str] = Field(
        description="Form field name -> contact field (name, email, phone, company, timezone or "
        "custom_fields.<key>); an email or a phone must be mapped: they identify the person",
    )
    consent_purposes: list[ConsentPurpose] = Field(default=[], max_length=20)
    allowed_origins: list[str] = Field(
        default=[],
        max_length=MAX_ORIGINS,
        description="Web origins (https://example.com) allowed to post it; empty: any origin",
    )
    notice_version: Text | None = Field(
        default=None, max_length=64, description="The privacy notice version the form shows"
    )

    @field_validator("fields")
    @classmethod
    def _mapped_fields(cls, fields: dict[str, str]) -> dict[str, str]:
        if not fields or len(fields) > MAX_FORM_FIELDS:
            raise ValueError(f"must map 1 to {MAX_FORM_FIELDS} form fields")
        for name, target in fields.items():
            if not re.fullmatch(FORM_FIELD_PATTERN, name):
                raise ValueError("form field names are letters, digits, '_', '.', '-'")
            if not _is_target(target):
                raise ValueError(f"{name} maps to an unknown contact field")
        targets = list(fields.values())
        if len(set(targets)) != len(targets):
            raise ValueError("two form fields map to the same contact field")
        if not {"email", "phone"} & set(targets):
            raise ValueError("an email or a phone field must be mapped")
        return fields

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        normalized = [normalize_origin(o) for o in origins]
        if any(o is None for o in normalized):
            raise ValueError("each origin is scheme://host[:port], such as https://example.com")
        return list(dict.fromkeys(o for o in normalized if o))

    @model_validator(mode="after")
    def _purposes_once(self) -> CreateForm:
        keys = [(c.purpose, c.channel) for c in self.consent_purposes]
        if len(set(keys)) != len(keys):
            raise ValueError("consent_purposes lists a purpose and channel twice")
        return self


def origin_allowed(form: Mapping[str, Any], origin: str | None) -> bool:
    """Whether a request from `origin` may post the form (any origin when none are listed)."""
    allowed: Sequence[str] = form.get("allowed_origins") or ()
    if not allowed:
        return True
    return origin is not None and normalize_origin(origin) in allowed


def submitted_fields(form: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The contact fields a submission gives (422 naming unknown or non-text form fields)."""
    mapping: Mapping[str, str] = form["fields"]
    problems: list[FieldProblem] = []
    fields: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, value in values.items():
        target = mapping.get(name)
        if target is None:
            problems.append(FieldProblem(f"fields.{name}", "is not a field of this form"))
        elif value is not None and (not isinstance(value, str) or len(value) > VALUE_MAX):
            problems.append(FieldProblem(f"fields.{name}", f"must be text of at most {VALUE_MAX}"))
        elif value is None or not value.strip():
            continue
        elif target.startswith(CUSTOM_TARGET):
            custom[target.removeprefix(CUSTOM_TARGET)] = value
        else:
            fields[target] = value
    if problems:
        raise InvalidFields(problems)
    if not (fields.get("email") or fields.get("phone")):
        raise InvalidFields([FieldProblem("fields", "need an email or a phone to identify you")])
    if custom:
        fields["custom_fields"] = custom
    return fields


def given_consents(form: Mapping[str, Any], ticked: Sequence[str]) -> list[GivenConsent]:
    """The consents a submission gives: each ticked purpose the form shows (422 otherwise)."""
    shown = {c["purpose"]: c for c in form.get("consent_purposes") or ()}
    unknown = [p for p in ticked if p not in shown]
    if unknown:
        raise InvalidFields([FieldProblem("consents", "names a purpose this form does not show")])
    return [GivenConsent(purpose=p, channel=shown[p]["channel"]) for p in dict.fromkeys(ticked)]
