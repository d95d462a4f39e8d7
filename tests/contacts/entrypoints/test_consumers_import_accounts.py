"""Import batches link accounts: one look-up and one insert per batch, shared new accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from crm_contacts.adapters.repository import ACCOUNTS
from crm_contacts.entrypoints.consumers import build_bus
from crm_shared.events import ContactsImported, ImportBatchProcessed
from crm_shared.events.contacts import AccountCreated
from crm_shared.storage import DocumentStore, Session
from tests.conftest import VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope, import_batch


class _SpySession:
    """A session that records which collections are read and written."""

    def __init__(self, inner: Session, calls: list[tuple[str, str]]) -> None:
        self._inner = inner
        self._calls = calls

    async def find(self, collection: str, **kwargs: Any) -> list[dict[str, Any]]:
        self._calls.append(("find", collection))
        return await self._inner.find(collection, **kwargs)

    async def insert_many(self, collection: str, docs: Sequence[dict[str, Any]]) -> None:
        self._calls.append(("insert_many", collection))
        await self._inner.insert_many(collection, docs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _SpyStore:
    """The app's store, with every transaction's session spied on."""

    def __init__(self, inner: DocumentStore) -> None:
        self._inner = inner
        self.calls: list[tuple[str, str]] = []

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        @asynccontextmanager
        async def spied() -> AsyncIterator[_SpySession]:
            async with self._inner.transaction() as session:
                yield _SpySession(session, self.calls)

        return spied()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def _contacts(harness: Harness) -> dict[str, dict[str, Any]]:
    """Every contact of the import by name, as the API shows it."""
    [processed] = await harness.outbox(ImportBatchProcessed.event_type)
    found = {}
    for result in processed.data["results"]:
        if result["contact_id"]:
            response = await harness.client.get(
                f"/v1/contacts/{result['contact_id']}", headers=auth(VIEWER_KEY)
            )
            found[response.json()["name"]] = response.json()
    return found


ROWS: list[dict[str, Any]] = [
    {"name": "Ada", "email": "ada@engines.example", "company": "Analytical Engines"},
    {"name": "Charles", "email": "charles@gmail.com", "company": "ANALYTICAL  engines"},
    {"name": "Grace", "email": "grace@navy.example"},
    {"name": "Hedy", "email": "hedy@navy.example"},
    {"name": "Alan", "email": "alan@gmail.com"},
    {"name": "Zoë", "company": "Zoë Müller AG"},
]


async def test_import_links_rows_to_shared_new_accounts(harness: Harness) -> None:
    await harness.handle(envelope(import_batch(ROWS)))
    contacts = await _contacts(harness)
    assert contacts["Ada"]["account_id"] == contacts["Charles"]["account_id"]
    assert contacts["Grace"]["account_id"] == contacts["Hedy"]["account_id"]
    assert contacts["Alan"]["account_id"] is None
    accounts = await harness.client.get("/v1/accounts", headers=auth(VIEWER_KEY))
    assert {(a["name"], a["domain"]) for a in accounts.json()["items"]} == {
        ("Analytical Engines", "engines.example"),
        ("navy.example", "navy.example"),
        ("Zoë Müller AG", None),
    }
    created = await harness.outbox(AccountCreated.event_type)
    assert sorted(e.key or "" for e in created) == sorted(a["id"] for a in accounts.json()["items"])


async def test_import_links_existing_accounts_by_folded_name_and_domain(harness: Harness) -> None:
    by_name = await harness.create(name="Existing", company="Zoe Muller ag")
    by_domain = await harness.create(name="Navy", email="boss@navy.example")
    await harness.handle(envelope(import_batch(ROWS)))
    contacts = await _contacts(harness)
    assert contacts["Zoë"]["account_id"] == by_name["account_id"]
    assert contacts["Grace"]["account_id"] == by_domain["account_id"]
    assert len(await harness.outbox(AccountCreated.event_type)) == 3  # 2 earlier + Engines


async def test_import_batch_looks_accounts_up_once_and_inserts_them_once(
    harness: Harness,
) -> None:
    spy = _SpyStore(harness.app.state.store)
    handle = build_bus(spy, harness.app.state.settings).handle  # type: ignore[arg-type]
    await handle(envelope(import_batch(ROWS)))
    account_calls = [call for call in spy.calls if call[1] == ACCOUNTS]
    assert account_calls == [("find", ACCOUNTS), ("find", ACCOUNTS), ("insert_many", ACCOUNTS)]


async def test_imported_contacts_list_account_id_among_their_changed_fields(
    harness: Harness,
) -> None:
    await harness.handle(envelope(import_batch(ROWS[:1])))
    [imported] = await harness.outbox(ContactsImported.event_type)
    assert "account_id" in imported.data["contacts"][0]["changed_fields"]


async def test_import_update_of_the_company_moves_the_contact(harness: Harness) -> None:
    existing = await harness.create(email="ada@gmail.com", company="Old Co")
    batch = import_batch([{"email": "ada@gmail.com", "company": "New Co"}], policy="update")
    await harness.handle(envelope(batch))
    moved = (await _contacts(harness))["Ada Lovelace"]
    assert moved["account_id"] not in (None, existing["account_id"])
    [imported] = await harness.outbox(ContactsImported.event_type)
    assert set(imported.data["contacts"][0]["changed_fields"]) == {
        "company",
        "account_id",
        "sources",
    }


async def test_import_update_without_company_or_email_change_keeps_the_account(
    harness: Harness,
) -> None:
    existing = await harness.create(email="ada@acme.example", company="Acme")
    batch = import_batch(
        [{"email": "ada@acme.example", "timezone": "Europe/Paris"}], policy="update"
    )
    await harness.handle(envelope(batch))
    kept = (await _contacts(harness))["Ada Lovelace"]
    assert kept["account_id"] == existing["account_id"]
    assert len(await harness.outbox(AccountCreated.event_type)) == 1
