"""Contact lifecycle events, published by the contacts service keyed by contact id."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.topics import CONTACT_EVENTS, CONTACT_STATE


class ContactProfile(BaseModel):
    """The profile fields a contact event carries."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    timezone: str | None = None
    tags: list[str] = []
    custom_fields: dict[str, Any] = {}
    emails: list[str] = []
    phones: list[str] = []
    owner: str | None = None
    account_id: str | None = None
    external_ids: dict[str, str] = {}
    sources: list[str] = []


class FieldChange(BaseModel):
    """One changed field: its value before and after the change."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    before: Any = None
    after: Any = None


class ContactCreated(EventData):
    """A contact was created (manually, by import, chat, form or integration).

    An import publishes one per created contact too, with `import_job_id` set, so a consumer of
    this topic alone mirrors every contact; consumers that follow the compact
    ContactsImported summary skip the ones with `import_job_id`.
    """

    event_type = "crm.contacts.contact.created.v1"
    topic = CONTACT_EVENTS.name

    contact_id: str
    version: int
    source: str
    profile: ContactProfile
    import_job_id: str | None = None


class ContactUpdated(EventData):
    """A contact's fields changed; `changes` holds each changed field's before and after.

    `import_job_id` is set when an import made the change (see ContactCreated).
    """

    event_type = "crm.contacts.contact.updated.v1"
    topic = CONTACT_EVENTS.name

    contact_id: str
    version: int
    changes: dict[str, FieldChange]
    import_job_id: str | None = None


class ContactDeleted(EventData):
    """A contact was soft-deleted and can still be restored."""

    event_type = "crm.contacts.contact.deleted.v1"
    topic = CONTACT_EVENTS.name

    contact_id: str
    version: int


class ContactRestored(EventData):
    """A soft-deleted contact was restored."""

    event_type = "crm.contacts.contact.restored.v1"
    topic = CONTACT_EVENTS.name

    contact_id: str
    version: int


class ContactAnonymized(EventData):
    """A contact's personal data was erased for an erasure request."""

    event_type = "crm.contacts.contact.anonymized.v1"
    topic = CONTACT_EVENTS.name

    contact_id: str
    version: int
    erasure_id: str


class ContactPurged(EventData):
    """A contact soft-deleted longer ago than the retention period was removed for good."""

    event_type = "crm.contacts.contact.purged.v1"
    topic = CONTACT_EVENTS.name

    contact_id: str
    deleted_at: str


class ContactsMerged(EventData):
    """Duplicates were merged into a primary contact; each duplicate left the live set.

    Published once keyed by the primary and once keyed by each duplicate (`contact_id` says which
    copy this is, `version` is that contact's version after the merge), so every involved
    contact's partition sees it in order. `profile` is the primary's profile after the merge.
    """

    event_type = "crm.contacts.contacts.merged.v1"
    topic = CONTACT_EVENTS.name

    contact_id: str
    version: int
    merge_id: str
    primary_id: str
    duplicate_ids: list[str]
    profile: ContactProfile


class MergeUndone(EventData):
    """A merge was undone: the primary and every duplicate are back as they were before it.

    Published keyed by the primary and by each duplicate like ContactsMerged; `profile` is the
    profile of the contact this copy is keyed by, as restored.
    """

    event_type = "crm.contacts.merge.undone.v1"
    topic = CONTACT_EVENTS.name

    contact_id: str
    version: int
    merge_id: str
    primary_id: str
    duplicate_ids: list[str]
    profile: ContactProfile


class AccountCreated(EventData):
    """An account (company) was created, by hand or for a contact's company or work domain."""

    event_type = "crm.contacts.account.created.v1"
    topic = CONTACT_EVENTS.name

    account_id: str
    version: int
    name: str
    domain: str | None = None


class AccountUpdated(EventData):
    """An account was renamed or its domain changed; `changes` holds before and after.

    When the erasure of the contact whose company named the account renames it, the name's
    `before` is null: the erased person's text is not repeated.
    """

    event_type = "crm.contacts.account.updated.v1"
    topic = CONTACT_EVENTS.name

    account_id: str
    version: int
    changes: dict[str, FieldChange]


class AccountDeleted(EventData):
    """An account was removed because the erasure of its last linked contact left it empty.

    Its name and domain may be all that remained of the erased person.
    """

    event_type = "crm.contacts.account.deleted.v1"
    topic = CONTACT_EVENTS.name

    account_id: str


class ImportedContact(BaseModel):
    """One contact written by an import batch, without its personal data."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    contact_id: str
    version: int
    action: Literal["created", "updated"]
    changed_fields: list[str] = []


class ContactsImported(EventData):
    """A batch of an import created or updated these contacts (one summary event per batch).

    Keyed by the job id. Each contact also gets its own ContactCreated / ContactUpdated (keyed
    by its id, with `import_job_id` set) in the same transaction, before this summary.
    """

    event_type = "crm.contacts.contacts.imported.v1"
    topic = CONTACT_EVENTS.name

    job_id: str
    batch_no: int
    contacts: list[ImportedContact]


def in_import_summary(event: EventData) -> bool:
    """Whether a ContactsImported summary also reports this event (an import's per-contact one).

    Consumers that follow the compact summary skip these, so an import is not counted twice.
    """
    return isinstance(event, ContactCreated | ContactUpdated) and event.import_job_id is not None


IMPORT_EVENT_TYPES = frozenset({ContactCreated.event_type, ContactUpdated.event_type})


def data_in_import_summary(event_type: str, data: dict[str, Any]) -> bool:
    """`in_import_summary` read off an event's type and raw data, before the data is parsed."""
    return event_type in IMPORT_EVENT_TYPES and data.get("import_job_id") is not None


# The Kafka header of an import's per-contact event: its `import_job_id`. The outbox relay sets
# it (crm_shared.cloudevents.structured_headers), so a group that follows the import's summaries
# passes over the event on its headers, without parsing its value (MessageBus `skip_rule`).
# Part of the event contract: a record without it (another producer, an older relay) is judged
# by its data, as before.
IMPORT_JOB_HEADER = "crm_import_job_id"
# The header's event types as the relay reads them off a value (`envelope_type`).
IMPORT_EVENT_TYPE_BYTES = frozenset(name.encode() for name in IMPORT_EVENT_TYPES)

# How the data of an import's per-contact event ends, and with it the envelope (the data is the
# envelope's last attribute and the job id its last field, in both writers' layouts).
_IMPORT_JOB_TAIL = b',"import_job_id":"'
_ENVELOPE_END = b'"}}'
# Room for a job id at the tail (ids are 36 characters).
_MAX_JOB_ID = 128


def written_import_job(value: bytes) -> bytes | None:
    """The `import_job_id` an envelope's data ends with, read off its bytes without parsing
    them; None when the value does not end so (no job, a null one, or another layout).

    The tail `,"import_job_id":"<id>"}}`, with no quote or backslash in the id, can only be the
    last field of the object that is the envelope's last attribute: a quote inside a string is
    always escaped, so each quote of the tail is one the JSON itself writes.
    """
    if not value.endswith(_ENVELOPE_END):
        return None
    id_end = len(value) - len(_ENVELOPE_END)
    start = value.rfind(_IMPORT_JOB_TAIL, max(0, id_end - _MAX_JOB_ID - len(_IMPORT_JOB_TAIL)))
    if start < 0:
        return None
    job = value[start + len(_IMPORT_JOB_TAIL) : id_end]
    if not job or b'"' in job or b"\\" in job:
        return None
    return job


_PROFILE_TEXT = ("email", "phone", "company", "timezone", "owner", "account_id")
_PROFILE_TEXT_LISTS = ("tags", "emails", "phones", "sources")


def _text_or_none(value: Any) -> bool:
    return value is None or type(value) is str


# Read-only defaults for absent fields (a new [] or {} per call cost more than the check).
_NO_ITEMS: list[Any] = []
_NO_MAP: dict[str, Any] = {}


def _plain_profile(profile: Any) -> bool:
    """Whether ContactProfile takes `profile` (parsed JSON) as it is, every field its type."""
    # Plain loops, not all() over generators: every contact of an import is checked here, and
    # the dozen generators were most of its cost.
    if type(profile) is not dict:
        return False
    get = profile.get
    if type(get("name")) is not str:
        return False
    for name in _PROFILE_TEXT:
        value = get(name)
        if value is not None and type(value) is not str:
            return False
    for name in _PROFILE_TEXT_LISTS:
        items = get(name, _NO_ITEMS)
        if type(items) is not list:
            return False
        for item in items:
            if type(item) is not str:
                return False
    external = get("external_ids", _NO_MAP)
    if type(external) is not dict:
        return False
    for value in external.values():
        if type(value) is not str:
            return False
    # JSON object keys are always text; the values are Any.
    return type(get("custom_fields", _NO_MAP)) is dict


def _plain_contact_head(data: dict[str, Any]) -> bool:
    return (
        type(data.get("contact_id")) is str
        and type(data.get("version")) is int
        and _text_or_none(data.get("import_job_id"))
    )


def plain_contact_created(data: dict[str, Any]) -> bool:
    """Whether ContactCreated takes this parsed JSON `data` as it is (no coercion, nothing
    refused), so a reader may use the dict's values as the model's: an import's millions of
    per-contact events need not each be validated into models to be read
    (tests/shared/test_plain_contact_events.py holds the two to the same verdicts)."""
    return (
        _plain_contact_head(data)
        and type(data.get("source")) is str
        and _plain_profile(data.get("profile"))
    )


def plain_contact_updated(data: dict[str, Any]) -> bool:
    """`plain_contact_created` for ContactUpdated: every change an object (before/after Any)."""
    changes = data.get("changes")
    return (
        _plain_contact_head(data)
        and type(changes) is dict
        and all(type(change) is dict for change in changes.values())
    )


def is_import_summary(event_type: str, data: dict[str, Any]) -> bool:
    """Whether an event, by its type and raw data, is an import batch's ContactsImported, for
    consumers that follow each contact's own event instead (the mirror of
    `data_in_import_summary`): they pass over the summary, a thousand contacts long, unparsed."""
    return event_type == ContactsImported.event_type


def envelope_in_import_summary(envelope: EventEnvelope) -> bool:
    """`in_import_summary` read off the envelope, before its data is parsed.

    A million-row import sends a million of these: a consumer that follows the summaries skips
    them without validating a whole profile each (MessageBus `skip`; `IMPORT_SUMMARY_SKIP` lets
    it do so before the envelope is validated too).
    """
    return data_in_import_summary(envelope.type, envelope.data)


class ContactState(EventData):
    """A contact as it is now, after its latest change, on the compacted state topic.

    Keyed by the contact id: the latest record of a key is the contact's current profile; a
    record with a null value (a tombstone) means the contact was erased, purged or merged away,
    and a consumer keeping a copy deletes it. Soft-deleted contacts stay, with `deleted_at`.
    """

    event_type = "crm.contacts.contact-state.v1"
    topic = CONTACT_STATE.name

    contact_id: str
    version: int
    profile: ContactProfile
    created_at: str | None = None
    updated_at: str | None = None
    deleted_at: str | None = None
