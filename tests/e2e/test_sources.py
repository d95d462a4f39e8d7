"""One person through every source: chat, then a form, then an import, then an integration.

The chat product publishes on `crm.conversations.v1` from the published docs alone (plain JSON
with aiokafka, one record in each CloudEvents mode); the rest goes over the public HTTP APIs.
At the end there is ONE contact with four sources, one conversation item on its timeline, the
form's consent in the gdpr ledger, and an integration upsert command applied from the topic.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from crm_shared.topics import CONTACT_UPSERTS, CONVERSATIONS
from tests.e2e.conftest import RunningPlatform, eventually

pytestmark = pytest.mark.e2e

EMAIL = "grace.hopper@navy.example"
CONVERSATION = "conv-e2e-1"
STRUCTURED = b"application/cloudevents+json"


def _structured(event_type: str, event_id: str, data: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": "chat-product",
            "type": event_type,
            "time": "2026-03-01T09:00:00Z",
            "tenant": "acme",
            "actor": "product:chat",
            "datacontenttype": "application/json",
            "data": data,
        }
    ).encode()


def _binary_headers(event_type: str, event_id: str) -> list[tuple[str, bytes]]:
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", event_id.encode()),
        ("ce_source", b"chat-product"),
        ("ce_type", event_type.encode()),
        ("ce_time", b"2026-03-01T09:00:00Z"),
        ("ce_tenant", b"acme"),
        ("ce_actor", b"product:chat"),
        ("content-type", b"application/json"),
    ]


async def _chat(bootstrap: str) -> None:
    """A conversation started anonymously, then the visitor says who they are."""
    key = CONVERSATION.encode()
    started = {"conversation_id": CONVERSATION, "started_at": "2026-03-01T09:00:00Z"}
    first = {
        "conversation_id": CONVERSATION,
        "message_id": "m1",
        "sent_at": "2026-03-01T09:00:05Z",
        "author": "visitor",
        "text": "Hello, is anyone there?",
    }
    identified = {
        "conversation_id": CONVERSATION,
        "identified_at": "2026-03-01T09:01:00Z",
        "name": "Grace Hopper",
        "email": EMAIL.upper(),
    }
    second = {**first, "message_id": "m2", "sent_at": "2026-03-01T09:01:30Z", "author": "agent"}
    second["text"] = "Hi Grace, how can I help?"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        topic = CONVERSATIONS.name
        started_type = "crm.conversations.conversation.started.v1"
        await producer.send_and_wait(
            topic,
            _structured(started_type, "c-1", started),
            key=key,
            headers=[("content-type", STRUCTURED)],
        )
        message_type = "crm.conversations.message.sent.v1"
        await producer.send_and_wait(
            topic,
            json.dumps(first).encode(),
            key=key,
            headers=_binary_headers(message_type, "c-2"),
        )
        identified_type = "crm.conversations.visitor.identified.v1"
        await producer.send_and_wait(
            topic,
            json.dumps(identified).encode(),
            key=key,
            headers=_binary_headers(identified_type, "c-3"),
        )
        await producer.send_and_wait(
            topic,
            _structured(message_type, "c-4", second),
            key=key,
            headers=[("content-type", STRUCTURED)],
        )
    finally:
        await producer.stop()


async def _upsert_command(bootstrap: str, data: dict[str, Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            CONTACT_UPSERTS.name,
            json.dumps(data).encode(),
            key=f"{data['system']}:{data['external_id']}".encode(),
            headers=_binary_headers("crm.contacts.external-upsert.requested.v1", "u-1"),
        )
    finally:
        await producer.stop()


def test_one_person_through_chat_form_import_and_integration_is_one_contact(
    running: RunningPlatform,
) -> None:
    contacts, timeline = running.client("contacts"), running.client("timeline")
    importer, gdpr = running.client("importer"), running.client("gdpr")
    bootstrap = running.broker.bootstrap_servers

    def found() -> list[dict[str, Any]]:
        response = contacts.get("/v1/contacts", params={"email": EMAIL})
        return list(response.json()["items"])

    # 1. Chat: the identified visitor becomes a contact, source chat.
    asyncio.run(_chat(bootstrap))
    [contact] = eventually(found, what="the chat visitor as a contact")
    contact_id = contact["id"]
    assert (contact["name"], contact["source"]) == ("Grace Hopper", "chat")

    def conversation_items() -> list[dict[str, Any]]:
        items = timeline.get(
            f"/v1/contacts/{contact_id}/timeline", params={"type": "conversation"}
        ).json()["items"]
        return [i for i in items if len(i["data"]["messages"]) == 2]

    [item] = eventually(conversation_items, what="one conversation item with both messages")
    assert [m["author"] for m in item["data"]["messages"]] == ["visitor", "agent"]

    # 2. A form: the same person, with a phone and a consent.
    form = contacts.post(
        "/v1/forms",
        json={
            "name": "Newsletter",
            "fields": {"mail": "email", "tel": "phone"},
            "consent_purposes": [{"purpose": "newsletter", "channel": "email", "label": "Yes"}],
            "allowed_origins": ["https://www.acme.example"],
        },
    ).json()
    submitted = contacts.post(
        form["submit_url"],
        json={"fields": {"mail": EMAIL, "tel": "+1 415 555 2671"}, "consents": ["newsletter"]},
        headers={
            "X-Form-Key": form["key"],
            "Origin": "https://www.acme.example",
            "Authorization": "",
        },
    )
    assert submitted.status_code == 202, submitted.text

    def consents() -> list[dict[str, Any]]:
        body = gdpr.get(f"/v1/contacts/{contact_id}/consents").json()
        return [p for p in body.get("purposes", []) if p["purpose"] == "newsletter"]

    [newsletter] = eventually(consents, what="the form's consent in the gdpr ledger")
    assert (newsletter["status"], newsletter["channel"]) == ("granted", "email")

    # 3. An import: same email, a company.
    upload = io.StringIO()
    writer = csv.writer(upload)
    writer.writerow(["name", "email", "company"])
    writer.writerow(["G. Hopper", EMAIL, "US Navy"])
    started = importer.post(
        "/v1/imports",
        files={"file": ("people.csv", upload.getvalue().encode(), "text/csv")},
        data={"on_duplicate": "update"},
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    eventually(
        lambda: importer.get(f"/v1/imports/{job_id}").json()["status"] == "completed",
        what="the import to complete",
    )

    # 4. An integration, over HTTP by its own id, then a bulk-sync command for another system.
    upserted = contacts.put(
        "/v1/contacts/by-external-id/shop/cust-7", json={"phone": "(415) 555-2671"}
    )
    assert upserted.status_code == 200, upserted.text
    assert upserted.json()["id"] == contact_id
    asyncio.run(
        _upsert_command(
            bootstrap,
            {"system": "billing", "external_id": "b-9", "fields": {"email": EMAIL}},
        )
    )

    def synced() -> dict[str, Any] | None:
        response = contacts.get("/v1/contacts/by-external-id/billing/b-9")
        return response.json() if response.status_code == 200 else None

    final = eventually(synced, what="the bulk-sync upsert applied")
    assert final["id"] == contact_id
    assert final["sources"] == ["chat", "form", "import", "integration"]
    assert final["external_ids"] == {"shop": "cust-7", "billing": "b-9"}
    assert final["company"] == "US Navy" and final["phone"] == "+14155552671"
    assert len(found()) == 1
    assert len(conversation_items()) == 1
