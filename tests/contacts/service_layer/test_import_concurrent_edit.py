"""An import's update of a contact edited between the batch's read and its write.

The batch writes each updated contact only at the version it read (one statement batch that
keeps the rows): a miss rolls the batch back and plans it again from the contacts' current
state, so the edit is kept, not overwritten. On SQLite the batch holds the writer, so the race
is what MongoDB without a snapshot meets; a store handing out a stale copy stands in for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import orjson
import pytest

from crm_contacts.adapters.repository import COLLECTION_SPECS, CONTACTS
from crm_contacts.domain.commands import CreateContact, UpdateContact
from crm_contacts.service_layer.handlers import create_contact, update_contact
from crm_contacts.service_layer.imports import ConcurrentUpdateError, import_batch
from crm_contacts.settings import ContactsSettings
from crm_shared.events import ContactState, ContactUpdated, ImportBatchProcessed
from crm_shared.ids import new_id
from crm_shared.storage import DocumentStore, Session
from crm_shared.storage.delegating import DelegatingStore
from crm_shared.storage.memory import MemoryStore
from crm_shared.storage.sqlite import SqliteStore
from tests.contacts.helpers import import_batch as batch_of

TENANT = "acme"
USER = "key:test"


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DocumentStore]:
    """The contacts collections on the adapters that roll a failed batch back."""
    opened: DocumentStore
    opened = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "c.db")
    await opened.start(COLLECTION_SPECS)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def settings(platform_env: dict[str, str]) -> ContactsSettings:
    """The service's settings over the test environment."""
    return ContactsSettings()


class _StaleContacts(DelegatingStore):
    """Hands out `stale` in place of the stored contact with its id, `times` transactions in a
    row: what a batch meets when a user's edit commits between its read and its write."""

    def __init__(self, inner: DocumentStore, stale: dict[str, Any], *, times: int) -> None:
        super().__init__(inner)
        self.stale, self.times, self.transactions = stale, times, 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        self.transactions += 1
        async with self.inner.transaction() as session:
            if self.times > 0:
                self.times -= 1
                yield cast(Session, _StaleReads(session, self.stale))
            else:
                yield session


class _StaleReads:
    def __init__(self, session: Session, stale: dict[str, Any]) -> None:
        self._session, self._stale = session, stale

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def find(self, collection: str, **kwargs: Any) -> list[dict[str, Any]]:
        found = await self._session.find(collection, **kwargs)
        if collection != CONTACTS:
            return found
        return [dict(self._stale) if d["id"] == self._stale["id"] else d for d in found]


async def _edited_contact(
    store: DocumentStore, settings: ContactsSettings
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A contact as first created (version 1), and as a user's edit left it (version 2)."""
    created = await create_contact(
        store,
        CreateContact(fields={"name": "Ada", "email": "ada@example.com", "company": "Old Co"}),
        tenant=TENANT,
        actor=USER,
        settings=settings,
    )
    async with store.reader() as session:
        before_edit = await session.get(CONTACTS, tenant=TENANT, id=created["id"])
    assert before_edit is not None and before_edit["version"] == 1
    edited = await update_contact(
        store,
        UpdateContact(contact_id=created["id"], fields={"timezone": "Europe/Paris"}),
        tenant=TENANT,
        actor=USER,
        settings=settings,
    )
    return before_edit, edited


async def _envelopes(store: DocumentStore, event_type: str) -> list[dict[str, Any]]:
    pending = await store.pending_events(100_000)
    envelopes = [orjson.loads(p.value) for p in pending if p.value]
    return [e for e in envelopes if e["type"] == event_type]


async def test_a_contact_edited_between_the_batchs_read_and_write_is_read_again(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    before_edit, _ = await _edited_contact(store, settings)
    racing = _StaleContacts(store, before_edit, times=1)
    rows = [
        {"email": "ada@example.com", "company": "New Co"},
        {"name": "Grace", "email": "grace@example.com"},
    ]
    batch = batch_of(rows, policy="update", job_id="job-1")

    results = await import_batch(racing, batch, tenant=TENANT, settings=settings, event_id=new_id())

    assert racing.transactions == 2  # the refused write, then the batch planned again
    assert results is not None
    assert [r["status"] for r in results] == ["updated", "created"]
    async with store.reader() as session:
        stored = await session.get(CONTACTS, tenant=TENANT, id=before_edit["id"])
    assert stored is not None
    assert (stored["company"], stored["timezone"], stored["version"]) == (
        "New Co",
        "Europe/Paris",
        3,
    )
    # One event per committed change: the user's edit, then the import's (nothing of the
    # refused attempt), whose `before` is what the edit left.
    updates = [
        e
        for e in await _envelopes(store, ContactUpdated.event_type)
        if e["subject"] == stored["id"]
    ]
    assert [(e["actor"], e["data"]["version"]) for e in updates] == [
        (USER, 2),
        ("import:job-1", 3),
    ]
    changes = updates[1]["data"]["changes"]
    assert changes["company"] == {"before": "Old Co", "after": "New Co"}
    assert "timezone" not in changes
    states = [
        e for e in await _envelopes(store, ContactState.event_type) if e["subject"] == stored["id"]
    ]
    assert states[-1]["data"]["profile"]["timezone"] == "Europe/Paris"
    assert len(await _envelopes(store, ImportBatchProcessed.event_type)) == 1


async def test_a_batch_that_keeps_losing_the_race_is_left_to_the_consumers_retry(
    store: DocumentStore, settings: ContactsSettings
) -> None:
    before_edit, _ = await _edited_contact(store, settings)
    racing = _StaleContacts(store, before_edit, times=100)
    batch = batch_of([{"email": "ada@example.com", "company": "New Co"}], policy="update")

    with pytest.raises(ConcurrentUpdateError):
        await import_batch(racing, batch, tenant=TENANT, settings=settings, event_id=new_id())

    assert racing.transactions == 3
    async with store.reader() as session:
        stored = await session.get(CONTACTS, tenant=TENANT, id=before_edit["id"])
    assert stored is not None
    assert (stored["company"], stored["timezone"], stored["version"]) == (
        "Old Co",
        "Europe/Paris",
        2,
    )
    # Nothing recorded: the redelivery applies the batch once the race is over.
    assert await _envelopes(store, ImportBatchProcessed.event_type) == []
