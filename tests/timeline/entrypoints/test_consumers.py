"""The `crm-timeline` consumer handler: contact events and activities."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from crm_shared.events import (
    ActivityRecorded,
    ActivityRecordedV2,
    ConsentChanged,
    ContactAnonymized,
    ContactDeleted,
    ContactRestored,
    ContactsImported,
    ImportedContact,
    ImportJobFinished,
)
from crm_shared.ids import new_id
from crm_shared.messaging.errors import PermanentMessageError
from crm_shared.topics import TIMELINE_EVENTS
from crm_timeline.adapters.repository import TimelineRepository
from tests.conftest import OTHER_TENANT_KEY, auth
from tests.timeline.factories import (
    all_documents,
    at,
    created,
    dump,
    envelope,
    erasure_requested,
    pending,
    updated,
)


async def _timeline(client: httpx.AsyncClient, contact_id: str) -> list[dict[str, object]]:
    response = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def _projection(app: FastAPI, contact_id: str) -> tuple[int, str]:
    async with app.state.store.reader() as session:
        held = await TimelineRepository(session).get_contact(tenant="acme", contact_id=contact_id)
    assert held is not None
    return held.version, held.state


async def test_created_and_updated_events_produce_items_newest_first(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = new_id()
    await app.state.bus.handle(created(contact_id, time=at(0)))
    await app.state.bus.handle(
        updated(contact_id, {"email": ("ada@example.com", "ada@new.io")}, version=2, time=at(5))
    )

    items = await _timeline(client, contact_id)

    assert [i["summary"] for i in items] == [
        "Updated email",
        "Contact created (source: manual)",
    ]
    assert items[0]["type"] == items[1]["type"] == "contact_changed"
    assert items[0]["occurred_at"] == "2025-03-01T09:05:00.000000Z"
    assert items[0]["source"] == "crm/contacts"
    assert items[0]["data"] == {
        "changes": {"email": {"before": "ada@example.com", "after": "ada@new.io"}}
    }
    assert items[1]["data"] == {"fields": ["name", "email", "company"]}


async def test_an_older_version_after_a_newer_one_does_not_regress_the_projection(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = new_id()
    await app.state.bus.handle(created(contact_id, version=1))
    await app.state.bus.handle(
        envelope(ContactRestored(contact_id=contact_id, version=3), time=at(3))
    )
    await app.state.bus.handle(
        envelope(ContactDeleted(contact_id=contact_id, version=2), time=at(2))
    )

    assert await _projection(app, contact_id) == (3, "live")
    summaries = [i["summary"] for i in await _timeline(client, contact_id)]
    assert "Contact deleted" not in summaries
    assert summaries == ["Contact restored", "Contact created (source: manual)"]


async def test_an_event_of_the_version_held_is_recorded_without_changing_the_projection(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = new_id()
    await app.state.bus.handle(
        envelope(ContactDeleted(contact_id=contact_id, version=2), time=at(2))
    )
    await app.state.bus.handle(updated(contact_id, {"company": ("A", "B")}, version=2, time=at(3)))

    assert await _projection(app, contact_id) == (2, "deleted")
    assert [i["summary"] for i in await _timeline(client, contact_id)] == [
        "Updated company",
        "Contact deleted",
    ]


async def test_a_redelivered_event_adds_nothing(app: FastAPI) -> None:
    contact_id = new_id()
    event = created(contact_id)

    await app.state.bus.handle(event)
    before = await all_documents(app.state.store, "acme")
    await app.state.bus.handle(event)

    assert await all_documents(app.state.store, "acme") == before
    assert sum(1 for d in before if d.get("contact_id") == contact_id) == 1


async def test_an_import_batch_fans_out_to_one_item_per_contact(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    first, second = new_id(), new_id()
    await app.state.bus.handle(created(second, version=1))
    batch = ContactsImported(
        job_id="job-7",
        batch_no=1,
        contacts=[
            ImportedContact(
                contact_id=first, version=1, action="created", changed_fields=["name", "email"]
            ),
            ImportedContact(
                contact_id=second, version=2, action="updated", changed_fields=["phone"]
            ),
        ],
    )

    await app.state.bus.handle(envelope(batch, source="crm/contacts", time=at(10)))

    [first_item] = await _timeline(client, first)
    assert first_item["summary"] == "Contact created by import"
    assert first_item["data"] == {"job_id": "job-7", "changed_fields": ["name", "email"]}
    newest = (await _timeline(client, second))[0]
    assert newest["summary"] == "Contact updated by import"
    assert newest["data"] == {"job_id": "job-7", "changed_fields": ["phone"]}
    assert await _projection(app, first) == (1, "live")
    assert await _projection(app, second) == (2, "live")


async def test_an_imports_per_contact_events_add_nothing_beside_its_summary(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = new_id()
    per_contact = created(contact_id).data | {"import_job_id": "job-7"}
    batch = ContactsImported(
        job_id="job-7",
        batch_no=1,
        contacts=[ImportedContact(contact_id=contact_id, version=1, action="created")],
    )

    await app.state.bus.handle(created(contact_id).model_copy(update={"data": per_contact}))
    await app.state.bus.handle(envelope(batch, source="crm/contacts", time=at(10)))

    [item] = await _timeline(client, contact_id)
    assert item["summary"] == "Contact created by import"


async def test_an_activity_for_a_contact_not_yet_known_waits_for_its_creation(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = new_id()
    activity = ActivityRecorded(
        contact_id=contact_id,
        activity_type="conversation",
        occurred_at=at(1),
        summary="Chat with the support bot",
        data={"conversation_id": "conv-1"},
    )

    await app.state.bus.handle(envelope(activity, source="crm/chat"))

    unknown = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())
    assert unknown.status_code == 404  # parked, not on any timeline yet
    assert await pending(app.state.store, TIMELINE_EVENTS.name) == []

    await app.state.bus.handle(created(contact_id, time=at(0)))

    [item, creation] = await _timeline(client, contact_id)
    assert (item["type"], item["source"], item["summary"]) == (
        "conversation",
        "crm/chat",
        "Chat with the support bot",
    )
    assert item["data"] == {"conversation_id": "conv-1"}
    assert creation["type"] == "contact_changed"
    [(key, published)] = await pending(app.state.store, TIMELINE_EVENTS.name)
    assert (key, published.data["item_id"]) == (contact_id.encode(), item["id"])


async def test_a_parked_activity_is_released_once_and_a_redelivery_adds_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = new_id()
    report = envelope(_v2_call(contact_id), source="crm/chat")

    await app.state.bus.handle(report)
    await app.state.bus.handle(report)
    await app.state.bus.handle(created(contact_id))
    await app.state.bus.handle(updated(contact_id, {"company": ("A", "B")}, version=2))
    await app.state.bus.handle(report)

    types = [i["type"] for i in await _timeline(client, contact_id)]
    assert sorted(types) == ["contact_changed", "contact_changed", "conversation"]


async def test_an_erasure_drops_what_was_parked_for_the_person(app: FastAPI) -> None:
    contact_id = new_id()
    await app.state.bus.handle(envelope(_v2_call(contact_id), source="crm/chat"))

    await app.state.bus.handle(erasure_requested(contact_id))
    await app.state.bus.handle(created(contact_id))

    async with app.state.store.reader() as session:
        repo = TimelineRepository(session)
        assert await repo.parked_for(tenant="acme", contact_ids=[contact_id]) == []
    docs = await all_documents(app.state.store, "acme")
    assert "Chat with the bot" not in dump(docs)


async def test_another_tenants_contact_is_unknown_to_a_report(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = new_id()
    await app.state.bus.handle(created(contact_id, tenant="globex"))

    await app.state.bus.handle(envelope(_v2_call(contact_id), source="crm/chat", tenant="acme"))

    async with app.state.store.reader() as session:
        parked = await TimelineRepository(session).parked_for(
            tenant="acme", contact_ids=[contact_id]
        )
    assert [p.contact_id for p in parked] == [contact_id]
    response = await client.get(
        f"/v1/contacts/{contact_id}/timeline", headers=auth(OTHER_TENANT_KEY)
    )
    assert [i["type"] for i in response.json()["items"]] == ["contact_changed"]


def _v2_call(contact_id: str) -> ActivityRecordedV2:
    return ActivityRecordedV2.model_validate(
        {
            "contact_id": contact_id,
            "occurred_at": "2025-03-01T09:01:00Z",
            "summary": "Chat with the bot",
            "details": {"type": "conversation", "conversation_id": "cv-1"},
        }
    )


async def test_event_types_the_timeline_does_not_use_are_ignored(app: FastAPI) -> None:
    finished = ImportJobFinished(
        job_id="j", status="completed", total_rows=1, created=1, updated=0, skipped=0, failed=0
    )

    await app.state.bus.handle(envelope(finished, source="crm/importer"))

    assert await all_documents(app.state.store, "acme") == []


async def test_contact_anonymized_erases_the_timeline_of_the_contact(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = new_id()
    await app.state.bus.handle(created(contact_id))
    anonymized = ContactAnonymized(contact_id=contact_id, version=4, erasure_id="er-1")

    await app.state.bus.handle(envelope(anonymized, time=at(20)))

    [item] = await _timeline(client, contact_id)
    assert (item["summary"], item["data"]) == ("Contact data erased", {"erasure_id": "er-1"})
    assert await _projection(app, contact_id) == (4, "erased")
    assert "ada@example.com" not in str(await all_documents(app.state.store, "acme"))


async def test_an_activity_arriving_after_erasure_is_dropped(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = new_id()
    await app.state.bus.handle(created(contact_id))
    await app.state.bus.handle(
        envelope(ContactAnonymized(contact_id=contact_id, version=2, erasure_id="er-2"))
    )
    late = ActivityRecorded(
        contact_id=contact_id, activity_type="email", occurred_at=at(30), summary="Hi Ada"
    )

    await app.state.bus.handle(envelope(late, source="crm/mailer"))

    items = await _timeline(client, contact_id)
    assert [i["summary"] for i in items] == ["Contact data erased"]


async def test_contact_events_after_erasure_do_not_reopen_the_contact(app: FastAPI) -> None:
    contact_id = new_id()
    await app.state.bus.handle(
        envelope(ContactAnonymized(contact_id=contact_id, version=2, erasure_id="er-3"))
    )

    await app.state.bus.handle(updated(contact_id, {"email": (None, "ada@example.com")}, version=3))

    assert "ada@example.com" not in str(await all_documents(app.state.store, "acme"))
    assert await _projection(app, contact_id) == (2, "erased")


async def test_a_schema_invalid_activity_is_a_permanent_error_naming_the_fields(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = new_id()
    activity = ActivityRecorded(
        contact_id=contact_id, activity_type="email", occurred_at=at(30), summary="Hi Ada"
    )
    invalid = envelope(activity, source="crm/mailer")
    invalid = invalid.model_copy(update={"data": {**invalid.data, "occurred_at": "Hi Ada"}})

    with pytest.raises(PermanentMessageError) as raised:
        await app.state.bus.handle(invalid)

    assert (raised.value.reason, raised.value.fields) == ("schema-invalid", ("data.occurred_at",))
    assert "Hi Ada" not in str(raised.value)
    response = await client.get(f"/v1/contacts/{contact_id}/timeline", headers=auth())
    assert response.status_code == 404  # nothing was recorded about the contact


async def test_a_consent_change_is_an_item_with_the_ledger_entry_as_details(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    contact_id = new_id()
    await app.state.bus.handle(created(contact_id))
    withdrawn = ConsentChanged(
        contact_id=contact_id,
        purpose="marketing",
        status="withdrawn",
        entry_id="ce-1",
        channel="sms",
        source="form:newsletter",
    )

    entry = envelope(withdrawn, source="crm/gdpr", time=at(9))
    await app.state.bus.handle(entry)
    await app.state.bus.handle(entry)  # a redelivery adds nothing

    item = (await _timeline(client, contact_id))[0]
    assert (item["type"], item["summary"]) == (
        "consent_changed",
        "Consent withdrawn: marketing (sms)",
    )
    assert item["details"] == {
        "purpose": "marketing",
        "status": "withdrawn",
        "entry_id": "ce-1",
        "channel": "sms",
        "lawful_basis": "consent",
        "source": "form:newsletter",
    }
    filtered = await client.get(
        f"/v1/contacts/{contact_id}/timeline", params={"type": "consent_changed"}, headers=auth()
    )
    assert [i["id"] for i in filtered.json()["items"]] == [item["id"]]
