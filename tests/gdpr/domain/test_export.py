"""What a data-subject export holds of the contact, and the audit of profile fields."""

from __future__ import annotations

from typing import Any

from crm_gdpr.domain.audit_events import audit_drafts
from crm_gdpr.domain.export import contact_section
from crm_shared.contact_fields import FIELDS_BY_NAME, PROFILE_FIELDS, PUBLIC_FIELDS
from crm_shared.events import ContactCreated
from crm_shared.events.contacts import ContactProfile
from tests.gdpr.fakes import wrap


def _filled(name: str) -> Any:
    shape = FIELDS_BY_NAME[name].shape
    if shape == "list":
        return [f"{name}-1"]
    if shape == "map":
        return {"plan": "pro"}
    return f"{name}-value"


def test_the_export_holds_every_public_field_the_contacts_service_sent() -> None:
    contact = {name: _filled(name) for name in PUBLIC_FIELDS}
    assert contact_section(contact) == contact


def test_the_export_leaves_out_fields_the_table_does_not_make_public() -> None:
    contact = {"id": "c1", "name": "Ada", "tenant": "acme", "search_text": "ada"}
    assert contact_section(contact) == {"id": "c1", "name": "Ada"}


def test_a_created_contacts_audit_entry_names_every_filled_profile_field() -> None:
    profile = ContactProfile(**{name: _filled(name) for name in PROFILE_FIELDS})
    data = ContactCreated(contact_id="c1", version=1, source="manual", profile=profile)
    [draft] = audit_drafts(wrap(data), data)
    named = {field.removeprefix("custom_fields.") for field in draft.fields}
    assert named == (set(PROFILE_FIELDS) - {"custom_fields"}) | {"plan"}
