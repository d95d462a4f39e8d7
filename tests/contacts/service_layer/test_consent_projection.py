"""The consent projection on every store adapter: decisions kept in order, the `consent=` filter
in search and bulk selections, the current consents shown, and an erasure that forgets them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crm_contacts.adapters.bulk import BULK_SPECS
from crm_contacts.adapters.consents import ConsentStateRepository
from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_contacts.domain.commands import CreateContact, DeleteContact, EraseContact
from crm_contacts.domain.errors import Gone
from crm_contacts.service_layer.bulk_actions import get_bulk_action, queue_bulk_action
from crm_contacts.service_layer.bulk_runner import snapshot
from crm_contacts.service_layer.consents import current_consents, record_consent
from crm_contacts.service_layer.erasure import erase_contact
from crm_contacts.service_layer.handlers import create_contact, delete_contact
from crm_contacts.service_layer.retention import purge_expired
from crm_contacts.service_layer.search import search_contacts
from crm_contacts.settings import ContactsSettings
from crm_shared.events import ConsentChanged
from crm_shared.filters import ContactFilter
from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore
from crm_shared.storage.memory import MemoryStore
from crm_shared.storage.sqlite import SqliteStore
from tests.shared.storage.conftest import mongodb_uri  # noqa: F401 (the fixture, imported)

TENANT = "acme"
USER = "key:test"
ADAPTERS = ["memory", "sqlite", "mongodb", "mongodb-double"]


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DocumentStore]:
    """The contacts collections on each adapter (MongoDB when MONGODB_URI names a replica set)."""
    opened: DocumentStore
    if request.param == "memory":
        opened = MemoryStore()
    elif request.param == "sqlite":
        opened = SqliteStore(tmp_path / "contacts.db")
    else:
        from crm_shared.storage.mongo import MongoStore

        if request.param == "mongodb-double":
            from tests.shared.storage.mongo_double import MongoDouble

            opened = MongoStore("mongodb://double", "crm_consents", client=MongoDouble())
        else:
            uri = request.getfixturevalue("mongodb_uri")
            opened = MongoStore(uri, f"crm_consents_{uuid.uuid4().hex[:12]}")
    await opened.start((*COLLECTION_SPECS, *BULK_SPECS))
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def settings(platform_env: dict[str, str]) -> ContactsSettings:
    """The service's settings over the test environment."""
    return ContactsSettings()


async def _contact(store: DocumentStore, settings: ContactsSettings, name: str) -> str:
    created = await create_contact(
        store, CreateContact(fields={"name": name}), tenant=TENANT, actor=USER, settings=settings
    )
    return str(created["id"])


async def _decide(
    store: DocumentStore,
    contact_id: str,
    status: str,
    *,
    at: str,
    purpose: str = "marketing",
    channel: str = "email",
    event_id: str | None = None,
) -> bool:
    event = ConsentChanged.model_validate(
        {
            "contact_id": contact_id,
            "purpose": purpose,
            "status": status,
            "channel": channel,
            "entry_id": new_id(),
            "source": "web:signup",
            "notice_version": "v3",
        }
    )
    return await record_consent(
        store,
        event,
        tenant=TENANT,
        event_id=event_id or new_id(),
        effective_at=f"2026-03-0{at}T10:00:00.000000Z",
    )


async def _matching(store: DocumentStore, *consent: str) -> set[str]:
    page = await search_contacts(
        store,
        tenant=TENANT,
        criteria=ContactFilter(consent=list(consent)),
        secret=b"s" * 32,
        limit=200,
    )
    return {doc["id"] for doc in page.items}


async def test_granted_now_and_not_granted_split_the_contacts(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    agreed = await _contact(store, settings, "Ada Agreed")
    withdrew = await _contact(store, settings, "Grace Withdrew")
    never = await _contact(store, settings, "Alan Never")
    await _decide(store, agreed, "granted", at="1")
    await _decide(store, withdrew, "granted", at="1")
    await _decide(store, withdrew, "withdrawn", at="2")
    assert await _matching(store, "marketing:email") == {agreed}
    assert await _matching(store, "!marketing:email") == {withdrew, never}
    assert await _matching(store, "marketing:sms") == set()


async def test_any_channel_counts_for_each_channel_until_one_is_withdrawn(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    person = await _contact(store, settings, "Ada Any")
    await _decide(store, person, "granted", at="1", channel="any")
    assert await _matching(store, "marketing:sms", "marketing:any") == {person}
    await _decide(store, person, "withdrawn", at="2", channel="sms")
    assert await _matching(store, "marketing:sms") == set()
    assert await _matching(store, "marketing:email", "!marketing:any") == {person}


async def test_an_older_decision_arriving_late_changes_nothing(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    person = await _contact(store, settings, "Ada Late")
    await _decide(store, person, "withdrawn", at="5")
    await _decide(store, person, "granted", at="2")
    assert await _matching(store, "marketing:email") == set()
    shown = await current_consents(store, person, tenant=TENANT)
    assert [(c["status"], c["effective_at"][:10]) for c in shown["consents"]] == [
        ("withdrawn", "2026-03-05")
    ]


async def test_a_redelivered_decision_is_applied_once(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    person = await _contact(store, settings, "Ada Twice")
    assert await _decide(store, person, "granted", at="1", event_id="evt-1") is True
    assert await _decide(store, person, "withdrawn", at="2", event_id="evt-1") is False
    assert await _matching(store, "marketing:email") == {person}


async def test_the_current_consents_show_each_decision_and_what_is_granted(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    person = await _contact(store, settings, "Ada Shown")
    await _decide(store, person, "granted", at="1", purpose="newsletter", channel="any")
    await _decide(store, person, "withdrawn", at="3", purpose="marketing", channel="sms")
    shown = await current_consents(store, person, tenant=TENANT)
    assert [(c["purpose"], c["channel"], c["status"]) for c in shown["consents"]] == [
        ("marketing", "sms", "withdrawn"),
        ("newsletter", "any", "granted"),
    ]
    assert shown["consents"][1]["effective_at"] == "2026-03-01T10:00:00.000000Z"
    assert shown["consents"][1]["lawful_basis"] == "consent"
    assert shown["consents"][1]["notice_version"] == "v3"
    assert "newsletter:email" in shown["granted"] and "marketing:sms" not in shown["granted"]


async def test_a_bulk_selection_by_consent_takes_only_those_who_agreed(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    agreed = [await _contact(store, settings, f"Agreed {n}") for n in range(3)]
    for n in range(2):
        await _contact(store, settings, f"Silent {n}")
    for contact_id in agreed:
        await _decide(store, contact_id, "granted", at="1")
    bulk = await queue_bulk_action(
        store,
        tenant=TENANT,
        actor=USER,
        is_admin=True,
        action="add_tags",
        ids=None,
        criteria=ContactFilter(consent=["marketing:email"]),
        params={"tags": ["Newsletter"]},
    )
    await snapshot(store, bulk, chunk_size=100)
    assert (await get_bulk_action(store, bulk["id"], tenant=TENANT))["total"] == 3


async def test_erasure_forgets_the_consents_and_ignores_later_decisions(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    person = await _contact(store, settings, "Ada Erased")
    await _decide(store, person, "granted", at="1")
    command = EraseContact(erasure_id="er-1", contact_id=person, identifier_hashes=())
    await erase_contact(store, command, tenant=TENANT, settings=settings, event_id="er-evt")
    assert await _matching(store, "marketing:email") == set()
    assert await _decide(store, person, "granted", at="2") is False
    async with store.reader() as session:
        assert await ConsentStateRepository(session, TENANT).of_contact(person) == []
    with pytest.raises(Gone):
        await current_consents(store, person, tenant=TENANT)


async def test_a_purged_contact_leaves_no_consents_behind(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    person = await _contact(store, settings, "Ada Purged")
    kept = await _contact(store, settings, "Grace Kept")
    for contact_id in (person, kept):
        await _decide(store, contact_id, "granted", at="1")
    await delete_contact(store, DeleteContact(contact_id=person), tenant=TENANT, actor=USER)
    later = datetime.now(UTC) + timedelta(days=31)
    assert await purge_expired(store, now=later, retention_days=30) == 1
    async with store.reader() as session:
        consents = ConsentStateRepository(session, TENANT)
        assert await consents.of_contact(person) == []
        assert len(await consents.of_contact(kept)) == 1
