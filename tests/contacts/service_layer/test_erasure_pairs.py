"""An erased contact leaves its duplicate pairs at once, without a re-match queued behind it."""

from __future__ import annotations

import pytest

from crm_contacts.adapters.duplicates import PairRepository, queued
from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_contacts.domain.commands import CreateContact, EraseContact
from crm_contacts.service_layer.duplicates import refresh_queued
from crm_contacts.service_layer.erasure import erase_contact
from crm_contacts.service_layer.handlers import create_contact
from crm_contacts.settings import ContactsSettings
from crm_shared.storage.memory import MemoryStore

TENANT = "acme"


@pytest.fixture
def settings(platform_env: dict[str, str]) -> ContactsSettings:
    """The service's settings over the test environment."""
    return ContactsSettings()


async def test_erasure_drops_the_contacts_pairs_and_queues_no_rematch(
    settings: ContactsSettings,
) -> None:
    store = MemoryStore()
    await store.start(COLLECTION_SPECS)
    ids = []
    for email in ("ada@one.example", "ada@two.example"):
        fields = {"name": "Ada Lovelace", "phone": "+14155552671", "email": email}
        created = await create_contact(
            store, CreateContact(fields=fields), tenant=TENANT, actor="key:t", settings=settings
        )
        ids.append(str(created["id"]))
    while await refresh_queued(store):
        pass
    async with store.reader() as session:
        assert len(await PairRepository(session, TENANT).of_contact(ids[0])) == 1

    command = EraseContact(erasure_id="er-1", contact_id=ids[0], identifier_hashes=())
    await erase_contact(store, command, tenant=TENANT, settings=settings, event_id="evt-1")

    async with store.reader() as session:
        assert await PairRepository(session, TENANT).of_contact(ids[0]) == []
        assert await PairRepository(session, TENANT).of_contact(ids[1]) == []
        assert await queued(session, limit=10) == []
