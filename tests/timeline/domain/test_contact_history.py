"""Rules turning contact events into timeline facts and ordering them by version."""

from __future__ import annotations

import pytest

from crm_shared.events import (
    ContactCreated,
    ContactDeleted,
    ContactRestored,
    ContactsImported,
    ContactUpdated,
    FieldChange,
    ImportedContact,
)
from crm_shared.events.contacts import ContactProfile
from crm_timeline.domain.contact_history import (
    Outcome,
    advance,
    facts_from_event,
    outcome_of,
)
from crm_timeline.domain.model import ContactProjection, ContactState


def _held(version: int, state: ContactState = "live") -> ContactProjection:
    return ContactProjection(id="c1", tenant="acme", version=version, state=state)


def test_created_fact_lists_filled_field_names_and_no_values() -> None:
    profile = ContactProfile(name="Ada", email="ada@example.com", phone="", tags=["vip"])
    event = ContactCreated(contact_id="c1", version=1, source="manual", profile=profile)

    [fact] = facts_from_event(event)

    assert fact.summary == "Contact created (source: manual)"
    assert fact.data == {"fields": ["name", "email", "tags"]}
    assert "ada@example.com" not in str(fact.data)
    assert fact.state == "live"


def test_created_fact_lists_the_new_profile_fields_when_filled() -> None:
    profile = ContactProfile(
        name="Ada",
        emails=["ada.alt@example.com"],
        phones=["+15550001111"],
        owner="key_owner",
        account_id="acc-1",
    )
    event = ContactCreated(contact_id="c1", version=1, source="manual", profile=profile)

    [fact] = facts_from_event(event)

    assert fact.data == {"fields": ["name", "emails", "phones", "owner", "account_id"]}
    assert "ada.alt@example.com" not in str(fact.data) and "+15550001111" not in str(fact.data)


def test_created_fact_leaves_out_empty_new_profile_fields() -> None:
    profile = ContactProfile(name="Ada", emails=[], phones=[], owner=None, account_id="")
    event = ContactCreated(contact_id="c1", version=1, source="manual", profile=profile)

    [fact] = facts_from_event(event)

    assert fact.data == {"fields": ["name"]}


@pytest.mark.parametrize("version", [0, 3, 4, 99])
def test_any_version_after_a_purge_is_ignored(version: int) -> None:
    assert outcome_of(_held(3, "purged"), version) is Outcome.IGNORE


def test_updated_fact_names_the_changed_fields_and_keeps_before_and_after() -> None:
    event = ContactUpdated(
        contact_id="c1",
        version=2,
        changes={
            "email": FieldChange(before="a@x.io", after="b@x.io"),
            "phone": FieldChange(before=None, after="+4930123"),
        },
    )

    [fact] = facts_from_event(event)

    assert fact.summary == "Updated email, phone"
    assert "b@x.io" not in fact.summary
    assert fact.data == {
        "changes": {
            "email": {"before": "a@x.io", "after": "b@x.io"},
            "phone": {"before": None, "after": "+4930123"},
        }
    }
    assert fact.state is None


def test_delete_and_restore_facts_set_the_state() -> None:
    [deleted] = facts_from_event(ContactDeleted(contact_id="c1", version=3))
    [restored] = facts_from_event(ContactRestored(contact_id="c1", version=4))

    assert (deleted.summary, deleted.state) == ("Contact deleted", "deleted")
    assert (restored.summary, restored.state) == ("Contact restored", "live")


def test_import_fans_out_one_fact_per_listed_contact() -> None:
    event = ContactsImported(
        job_id="job-1",
        batch_no=2,
        contacts=[
            ImportedContact(contact_id="c1", version=1, action="created"),
            ImportedContact(contact_id="c2", version=5, action="updated", changed_fields=["phone"]),
        ],
    )

    facts = facts_from_event(event)

    assert [(f.contact_id, f.version, f.summary) for f in facts] == [
        ("c1", 1, "Contact created by import"),
        ("c2", 5, "Contact updated by import"),
    ]
    assert facts[1].data == {"job_id": "job-1", "changed_fields": ["phone"]}


@pytest.mark.parametrize(
    ("held", "version", "expected"),
    [
        (None, 1, Outcome.APPLY),
        (_held(2), 3, Outcome.APPLY),
        (_held(2), 2, Outcome.RECORD_ONLY),
        (_held(2), 1, Outcome.IGNORE),
        (_held(2, "erased"), 9, Outcome.IGNORE),
    ],
    ids=["unknown", "newer", "same", "older", "erased"],
)
def test_outcome_follows_the_version_held(
    held: ContactProjection | None, version: int, expected: Outcome
) -> None:
    assert outcome_of(held, version) is expected


def test_an_update_keeps_the_state_a_contact_had() -> None:
    [fact] = facts_from_event(ContactUpdated(contact_id="c1", version=5, changes={}))

    after = advance(_held(4, "deleted"), fact, tenant="acme")

    assert (after.version, after.state) == (5, "deleted")


def test_an_update_of_an_unknown_contact_makes_it_live() -> None:
    [fact] = facts_from_event(ContactUpdated(contact_id="c1", version=5, changes={}))

    assert advance(None, fact, tenant="acme").state == "live"
