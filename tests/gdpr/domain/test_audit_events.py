"""Which audit entries each event produces: targets, field names, and values kept apart."""

from __future__ import annotations

from crm_gdpr.domain.audit_events import audit_drafts
from crm_gdpr.domain.audit_values import ValueChange
from crm_shared.clock import iso
from crm_shared.events import (
    ConsentChanged,
    ContactCreated,
    ContactsImported,
    ContactUpdated,
    ErasureRequested,
    ExportCompleted,
    FieldChange,
    ImportedContact,
    ImportJobFinished,
    JobDataDeleted,
)
from crm_shared.events.contacts import (
    AccountCreated,
    AccountDeleted,
    AccountUpdated,
    ContactProfile,
    ContactPurged,
)
from tests.gdpr.fakes import wrap


def test_contact_created_lists_the_filled_profile_fields_with_their_new_values() -> None:
    data = ContactCreated(
        contact_id="c1",
        version=1,
        source="manual",
        profile=ContactProfile(
            name="Bob Secret",
            email="bob@secret.example",
            tags=["vip"],
            custom_fields={"shoe_size": 44},
        ),
    )
    envelope = wrap(data, subject="c1")
    [draft] = audit_drafts(envelope, data)
    assert draft.fields == ("name", "email", "tags", "custom_fields.shoe_size")
    assert draft.target == "c1"
    assert draft.action == "crm.contacts.contact.created.v1"
    assert draft.at == iso(envelope.time)
    assert draft.event_id == envelope.id
    assert draft.fields == tuple(change.field for change in draft.changes)
    assert [(c.before, c.after) for c in draft.changes] == [
        (None, "Bob Secret"),
        (None, "bob@secret.example"),
        (None, ["vip"]),
        (None, 44),
    ]


def test_contact_updated_records_each_fields_before_and_after() -> None:
    data = ContactUpdated(
        contact_id="c1",
        version=2,
        changes={
            "phone": FieldChange(before="+1555", after="+1666"),
            "email": FieldChange(before="a@x.io", after="b@x.io"),
        },
    )
    [draft] = audit_drafts(wrap(data), data)
    assert draft.fields == ("email", "phone")
    assert [tuple(c) for c in draft.changes] == [
        ("email", "a@x.io", "b@x.io"),
        ("phone", "+1555", "+1666"),
    ]


def test_actor_falls_back_to_the_source() -> None:
    data = ImportJobFinished(
        job_id="j1", status="completed", total_rows=1, created=1, updated=0, skipped=0, failed=0
    )
    [draft] = audit_drafts(wrap(data, source="crm/importer", actor=None), data)
    assert draft.actor == "crm/importer"
    assert draft.target == "j1"


def test_an_imports_summary_adds_no_entry_its_per_contact_events_do() -> None:
    data = ContactsImported(
        job_id="j1",
        batch_no=1,
        contacts=[
            ImportedContact(contact_id="c1", version=1, action="created"),
            ImportedContact(contact_id="c2", version=4, action="updated", changed_fields=["phone"]),
        ],
    )
    assert audit_drafts(wrap(data), data) == []


def test_an_imports_writes_are_audited_with_their_values_and_the_import_as_actor() -> None:
    created = ContactCreated(
        contact_id="c1",
        version=1,
        source="import",
        profile=ContactProfile(name="Bob", email="bob@example.com"),
        import_job_id="job-1",
    )
    changed = ContactUpdated(
        contact_id="c2",
        version=3,
        changes={"company": FieldChange(before="Old Co", after="Acme")},
        import_job_id="job-1",
    )
    [create] = audit_drafts(wrap(created, subject="c1", actor="import:job-1"), created)
    [update] = audit_drafts(wrap(changed, subject="c2", actor="import:job-1"), changed)
    assert (create.actor, create.action, create.target) == (
        "import:job-1",
        "crm.contacts.contacts.imported.v1:created",
        "c1",
    )
    assert set(create.changes) >= {
        ValueChange("name", None, "Bob"),
        ValueChange("email", None, "bob@example.com"),
    }
    assert (update.action, update.fields) == (
        "crm.contacts.contacts.imported.v1:updated",
        ("company",),
    )
    assert update.changes == (ValueChange("company", "Old Co", "Acme"),)


def test_export_completed_targets_the_export_and_names_its_fields() -> None:
    data = ExportCompleted(export_id="x1", fields=["name", "email"], rows=10)
    [draft] = audit_drafts(wrap(data, source="crm/importer"), data)
    assert (draft.target, draft.fields) == ("x1", ("name", "email"))


def test_erasure_requested_keeps_no_identifier_hashes() -> None:
    data = ErasureRequested(erasure_id="r1", contact_id="c1", identifier_hashes=["abc123hash"])
    [draft] = audit_drafts(wrap(data, source="crm/gdpr"), data)
    assert draft.target == "c1"
    assert "abc123hash" not in repr(draft)


def test_consent_change_names_the_purpose_not_the_status() -> None:
    data = ConsentChanged(contact_id="c1", purpose="newsletter", status="withdrawn", entry_id="e")
    [draft] = audit_drafts(wrap(data, source="crm/gdpr"), data)
    assert draft.fields == ("consent.newsletter",)


def test_contact_created_keeps_list_and_reference_fields_as_values() -> None:
    data = ContactCreated(
        contact_id="c1",
        version=1,
        source="manual",
        profile=ContactProfile(
            name="Bob Secret",
            emails=["bob.alt@secret.example"],
            phones=["+15550009999"],
            owner="owner-key-7",
            account_id="acc-42",
        ),
    )
    [draft] = audit_drafts(wrap(data, subject="c1"), data)
    assert draft.fields == ("name", "owner", "account_id", "emails", "phones")
    values = {c.field: c.after for c in draft.changes}
    assert values["emails"] == ["bob.alt@secret.example"]
    assert values["account_id"] == "acc-42"


def test_contact_created_leaves_out_empty_new_profile_fields() -> None:
    data = ContactCreated(
        contact_id="c1",
        version=1,
        source="manual",
        profile=ContactProfile(name="Bob", emails=[], phones=[], owner=None, account_id=""),
    )
    [draft] = audit_drafts(wrap(data, subject="c1"), data)
    assert draft.fields == ("name",)


def test_contact_purged_targets_the_contact_without_fields() -> None:
    data = ContactPurged(contact_id="c1", deleted_at="2025-01-01T00:00:00.000000Z")
    [draft] = audit_drafts(wrap(data, subject=None), data)
    assert (draft.action, draft.target, draft.fields) == (
        "crm.contacts.contact.purged.v1",
        "c1",
        (),
    )


def test_account_created_targets_the_account_and_names_its_fields_only() -> None:
    data = AccountCreated(account_id="a1", version=1, name="Secret Corp", domain="secret.example")
    [draft] = audit_drafts(wrap(data, subject="c9"), data)
    assert (draft.action, draft.target, draft.fields) == (
        "crm.contacts.account.created.v1",
        "a1",
        ("name", "domain"),
    )
    assert "Secret Corp" not in repr(draft) and "secret.example" not in repr(draft)


def test_account_created_without_a_domain_names_only_the_name() -> None:
    data = AccountCreated(account_id="a1", version=1, name="Secret Corp")
    [draft] = audit_drafts(wrap(data), data)
    assert draft.fields == ("name",)


def test_account_updated_records_the_changed_values() -> None:
    data = AccountUpdated(
        account_id="a1",
        version=2,
        changes={
            "name": FieldChange(before=None, after="Renamed Corp"),
            "domain": FieldChange(before="old.example", after="new.example"),
        },
    )
    [draft] = audit_drafts(wrap(data, subject="c9"), data)
    assert (draft.action, draft.target, draft.fields) == (
        "crm.contacts.account.updated.v1",
        "a1",
        ("domain", "name"),
    )
    assert {c.field: c.after for c in draft.changes} == {
        "domain": "new.example",
        "name": "Renamed Corp",
    }


def test_account_deleted_targets_the_account() -> None:
    data = AccountDeleted(account_id="a1")
    [draft] = audit_drafts(wrap(data, subject="c9"), data)
    assert (draft.action, draft.target, draft.fields) == (
        "crm.contacts.account.deleted.v1",
        "a1",
        (),
    )


def test_a_retention_deletion_names_the_job_and_what_went_never_data() -> None:
    data = JobDataDeleted(
        job_kind="import",
        job_id="job-9",
        deleted=["failed_rows", "upload"],
        rows=12,
        finished_at="2026-04-01T00:00:00.000000Z",
        retention_days=30,
    )
    [draft] = audit_drafts(wrap(data, source="crm/importer", actor="system:retention"), data)
    assert (draft.actor, draft.action, draft.target) == (
        "system:retention",
        "crm.importer.job-data.deleted.v1",
        "job-9",
    )
    assert draft.fields == ("failed_rows", "upload")


def test_a_created_contacts_fields_are_its_filled_profile_fields_of_every_shape() -> None:
    from crm_gdpr.domain.audit_events import _profile_field_names

    profile = ContactProfile(
        name="Ann",
        email="ann@example.com",
        company="",
        tags=["vip"],
        emails=["ann@work.example"],
        phones=[],
        external_ids={"crm": "42"},
        custom_fields={"b": 1, "a": "x", "empty": None},
        sources=["import"],
    )
    data = ContactCreated(contact_id="c1", version=1, source="import", profile=profile)
    [draft] = audit_drafts(wrap(data, subject="c1"), data)
    assert draft.fields == _profile_field_names(profile)
    assert draft.fields == (
        "name",
        "email",
        "tags",
        "emails",
        "sources",
        "external_ids",
        "custom_fields.a",
        "custom_fields.b",
        "custom_fields.empty",
    )
    assert draft.fields == tuple(change.field for change in draft.changes)
