"""An import batch reads the holders of its rows' identifiers one `match_on` identifier at a
time: a later identifier only for the rows the earlier ones found no one for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from crm_contacts.adapters.repository import COLLECTION_SPECS, CONTACTS
from crm_contacts.domain.commands import CreateContact
from crm_contacts.domain.importing import prepare_rows
from crm_contacts.service_layer.handlers import create_contact
from crm_contacts.service_layer.imports import plan_rows
from crm_contacts.settings import ContactsSettings
from crm_shared.events import ImportRow
from crm_shared.events.imports import MatchIdentifier
from crm_shared.storage import Session
from crm_shared.storage.sqlite import SqliteStore

TENANT = "acme"
NOW = "2026-01-01T00:00:00.000000Z"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """The contacts collections on SQLite."""
    opened = SqliteStore(tmp_path / "c.db")
    await opened.start(COLLECTION_SPECS)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def settings(platform_env: dict[str, str]) -> ContactsSettings:
    """The service's settings over the test environment."""
    return ContactsSettings()


class _CountingReads:
    """A session counting the contacts each `find` hands back."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.contacts_read: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def find(self, collection: str, **kwargs: Any) -> list[dict[str, Any]]:
        found = await self._session.find(collection, **kwargs)
        if collection == CONTACTS:
            self.contacts_read += [doc["id"] for doc in found]
        return found


async def _create(store: SqliteStore, settings: ContactsSettings, **fields: Any) -> str:
    doc = await create_contact(
        store, CreateContact(fields=fields), tenant=TENANT, actor="key:test", settings=settings
    )
    return str(doc["id"])


async def _plan(
    store: SqliteStore,
    rows: list[dict[str, Any]],
    match_on: tuple[MatchIdentifier, ...] = ("email", "phone"),
) -> tuple[list[dict[str, Any]], list[str]]:
    """Each row's result under `update`, and the contacts the look-up read (in order)."""
    prepared = prepare_rows(
        [ImportRow(row_number=n, **row) for n, row in enumerate(rows, start=1)],
        region="US",
        suppression_key=b"k",
    )
    async with store.reader() as session:
        counting = _CountingReads(session)
        planned = await plan_rows(
            counting,  # type: ignore[arg-type]
            TENANT,
            prepared,
            policy="update",
            match_on=match_on,
            occurred_at=None,
            now=NOW,
        )
    return planned.plan.results, counting.contacts_read


async def test_a_contact_found_by_email_is_read_once_not_again_by_phone(
    store: SqliteStore, settings: ContactsSettings
) -> None:
    ada = await _create(store, settings, name="Ada", email="ada@example.com", phone="+14155550100")
    results, read = await _plan(
        store, [{"email": "ada@example.com", "phone": "+14155550100", "company": "New"}]
    )
    assert [(r["status"], r["contact_id"]) for r in results] == [("updated", ada)]
    assert read == [ada]


async def test_a_row_whose_email_no_one_holds_is_matched_by_phone_to_the_oldest_holder(
    store: SqliteStore, settings: ContactsSettings
) -> None:
    oldest = await _create(store, settings, name="First", phone="+14155550100")
    second = await _create(store, settings, name="Second", phone="+14155550100")
    grace = await _create(store, settings, name="Grace", email="grace@example.com")
    rows = [
        {"email": "grace@example.com", "company": "Navy"},
        {"email": "nobody@example.com", "phone": "+1 415 555 0100", "company": "Phone Co"},
    ]
    results, read = await _plan(store, rows)
    assert [(r["status"], r["contact_id"]) for r in results] == [
        ("updated", grace),
        ("updated", oldest),
    ]
    # By email: Grace alone; by phone, for the second row only: both holders of its number.
    assert read[0] == grace and sorted(read[1:]) == sorted([oldest, second])


async def test_a_row_matched_by_email_keeps_its_match_when_its_phone_is_someone_elses(
    store: SqliteStore, settings: ContactsSettings
) -> None:
    phone_holder = await _create(store, settings, name="Phone", phone="+14155550100")
    ada = await _create(store, settings, name="Ada", email="ada@example.com")
    rows = [{"email": "ada@example.com", "phone": "+14155550100", "company": "New"}]
    results, read = await _plan(store, rows)
    assert [(r["status"], r["contact_id"]) for r in results] == [("updated", ada)]
    assert read == [ada]
    # Phone first: the phone's holder is the match, and the email is not looked up.
    results, read = await _plan(store, rows, match_on=("phone", "email"))
    assert [(r["status"], r["contact_id"]) for r in results] == [("updated", phone_holder)]
    assert read == [phone_holder]
