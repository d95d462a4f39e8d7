"""The contacts service derives its views, events and erasure from the shared field table."""

from __future__ import annotations

import pytest

from crm_contacts.domain.contact import (
    ERASED_NAME,
    anonymized,
    new_contact,
    profile_snapshot,
    public_view,
)
from crm_contacts.domain.contact_doc import ContactDoc
from crm_contacts.domain.errors import InvalidFields
from crm_contacts.domain.validation import validate_profile
from crm_contacts.entrypoints.schemas import ContactCreate, ContactPublic, ContactUpdate
from crm_shared.contact_fields import (
    ALL_FIELDS,
    DERIVED_FIELDS,
    ERASED_FIELDS,
    FIELDS_BY_NAME,
    PERSONAL_FIELDS,
    PROFILE_FIELDS,
    PUBLIC_FIELDS,
    WRITABLE_FIELDS,
)
from crm_shared.events.contacts import ContactProfile

NOW = "2026-01-01T00:00:00.000000Z"
LATER = "2026-01-02T00:00:00.000000Z"


def _full_contact() -> ContactDoc:
    """A contact with a value in every personal field."""
    doc = new_contact(
        contact_id="c1",
        tenant="acme",
        profile={
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "phone": "+14155552671",
            "phone_raw": "(415) 555-2671",
            "emails": ["ada@home.example"],
            "phones": ["+442079460958"],
            "phones_raw": ["020 7946 0958"],
            "company": "Analytical",
            "timezone": "Europe/London",
            "owner": "user-7",
            "tags": ["VIP"],
            "custom_fields": {"plan": "pro"},
            "external_ids": {"shop": "cust-42"},
        },
        source="manual",
        now=NOW,
    )
    doc["account_id"] = "acc-1"
    doc["campaigns"] = ["camp-1"]  # joined through a bulk action, never on create
    doc["consents_granted"] = ["marketing:email"]  # from the gdpr ledger's events
    return doc


def test_a_new_contact_holds_every_field_of_the_table() -> None:
    assert set(_full_contact()) == set(ALL_FIELDS)


def test_the_typed_contact_document_has_exactly_the_fields_of_the_table() -> None:
    assert ContactDoc.__required_keys__ == frozenset(ALL_FIELDS)


def test_a_full_contact_fills_every_personal_field() -> None:
    doc = _full_contact()
    assert all(doc[name] not in (None, "", [], {}) for name in PERSONAL_FIELDS)


def test_the_public_view_and_its_schema_show_exactly_the_public_fields() -> None:
    assert tuple(public_view(_full_contact())) == PUBLIC_FIELDS
    assert set(ContactPublic.model_fields) == set(PUBLIC_FIELDS)


def test_the_public_view_reads_fields_an_older_document_lacks_as_empty() -> None:
    doc = _full_contact()
    for name in ("emails", "phones", "phones_raw", "owner"):
        del doc[name]
    view = public_view(doc)
    assert (view["emails"], view["phones"], view["phones_raw"], view["owner"]) == ([], [], [], None)


def test_the_event_snapshot_holds_the_profile_fields_and_copies_lists() -> None:
    doc = _full_contact()
    snapshot = profile_snapshot(doc)
    assert tuple(snapshot) == PROFILE_FIELDS
    assert ContactProfile(**snapshot).emails == ["ada@home.example"]
    assert snapshot["tags"] is not doc["tags"]
    assert snapshot["custom_fields"] is not doc["custom_fields"]


def test_erasure_clears_every_personal_field() -> None:
    doc = _full_contact()
    erased = anonymized(doc, LATER)
    for name in ERASED_FIELDS:
        expected = ERASED_NAME if name == "name" else FIELDS_BY_NAME[name].empty
        assert erased[name] == expected, name
    for name in DERIVED_FIELDS:  # recomputed from what is left: nothing of the person
        assert erased[name] != doc[name], name
    assert erased["search_text"] == ""


def test_erasure_keeps_the_fields_that_are_not_personal() -> None:
    doc = _full_contact()
    erased = anonymized(doc, LATER)
    kept = set(ALL_FIELDS) - set(PERSONAL_FIELDS) - {"version", "updated_at", "erased_at"}
    assert {name: erased[name] for name in kept} == {name: doc[name] for name in kept}
    assert (erased["version"], erased["erased_at"]) == (2, LATER)


def test_the_write_schemas_take_exactly_the_writable_fields() -> None:
    assert set(ContactUpdate.model_fields) == set(WRITABLE_FIELDS)
    assert set(ContactCreate.model_fields) == {*WRITABLE_FIELDS, "source"}


def test_validation_knows_every_writable_field() -> None:
    clearing = {name: None for name in WRITABLE_FIELDS if name != "name"}
    assert set(validate_profile(clearing, region="US")) >= set(clearing)


@pytest.mark.parametrize("name", sorted(set(PUBLIC_FIELDS) - set(WRITABLE_FIELDS)))
def test_validation_refuses_fields_the_service_sets_itself(name: str) -> None:
    with pytest.raises(InvalidFields, match="is not a contact field"):
        validate_profile({name: "x"}, region="US")
