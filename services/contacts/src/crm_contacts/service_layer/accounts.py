"""Accounts managed directly: create, rename or re-domain, read one, list, and their contacts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crm_contacts.adapters.accounts import AccountContacts, AccountRepository
from crm_contacts.domain.accounts import new_account, validate_account
from crm_contacts.domain.contact import bump
from crm_contacts.domain.errors import FieldProblem, InvalidFields
from crm_contacts.service_layer.account_links import account_created_events
from crm_shared.clock import now_iso
from crm_shared.events.contacts import AccountUpdated, FieldChange
from crm_shared.ids import new_id
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.problems import Conflict, NotFound, PreconditionFailed
from crm_shared.storage import Cursor, DocumentStore

# What a client may change; `name_folded` follows `name`.
EDITABLE = ("name", "domain")


@dataclass(frozen=True)
class Page:
    """Documents in order and the cursor to continue after (None on the last page)."""

    items: list[dict[str, Any]]
    after: Cursor | None


def _public(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {f: doc.get(f) for f in ("id", "version", "name", "domain", "created_at", "updated_at")}


async def _refuse_taken(
    accounts: AccountRepository, values: Mapping[str, Any], *, other_than: str | None = None
) -> None:
    if "name_folded" in values:
        named = await accounts.with_name(values["name_folded"])
        if named is not None and named["id"] != other_than:
            raise Conflict(
                f"account {named['id']} already has this name (case and accents ignored)",
                extra={"existing_id": named["id"]},
            )
    if values.get("domain"):
        holders = await accounts.matching((), (values["domain"],))
        holder = next((doc for doc in holders if doc["id"] != other_than), None)
        if holder is not None:
            raise Conflict(
                f"account {holder['id']} already has this domain",
                extra={"existing_id": holder["id"]},
            )


async def create_account(
    store: DocumentStore, fields: Mapping[str, Any], *, tenant: str, actor: str
) -> dict[str, Any]:
    """Create an account; 409 when its folded name or its domain is taken."""
    values = validate_account(fields)
    if "name" not in values:
        raise InvalidFields([FieldProblem("name", "is required")])
    async with store.transaction() as session:
        accounts = AccountRepository(session, tenant)
        await _refuse_taken(accounts, values)
        doc = new_account(
            account_id=new_id(),
            tenant=tenant,
            name=values["name"],
            domain=values.get("domain"),
            now=now_iso(),
        )
        await accounts.add_many([doc])
        await session.add_events(account_created_events([doc], tenant=tenant, actor=actor))
    return doc


async def update_account(
    store: DocumentStore,
    account_id: str,
    fields: Mapping[str, Any],
    *,
    expected_version: int | None,
    tenant: str,
    actor: str,
) -> dict[str, Any]:
    """Rename an account or change its domain; contacts keep their `company` text as typed."""
    values = validate_account(fields)
    async with store.transaction() as session:
        accounts = AccountRepository(session, tenant)
        doc = await accounts.get(account_id)
        if doc is None:
            raise NotFound(f"account {account_id} not found")
        if expected_version is not None and int(doc["version"]) != expected_version:
            raise PreconditionFailed(
                f"account {account_id} is at version {doc['version']}, not {expected_version}; "
                "reload it and apply your change again",
                extra={"current": _public(doc)},
            )
        changes = {
            f: (doc.get(f), values[f]) for f in EDITABLE if f in values and doc.get(f) != values[f]
        }
        if not changes:
            return doc
        changed = {f: after for f, (_, after) in changes.items()}
        if "name" in changed:
            changed["name_folded"] = values["name_folded"]
        await _refuse_taken(accounts, changed, other_than=account_id)
        updated = bump({**doc, **changed}, now_iso())
        if not await accounts.save(updated, expected_version=int(doc["version"])):
            raise PreconditionFailed(f"account {account_id} changed meanwhile; reload it")
        event = AccountUpdated(
            account_id=account_id,
            version=updated["version"],
            changes={f: FieldChange(before=b, after=a) for f, (b, a) in changes.items()},
        )
        await session.add_events(
            [outgoing(event, source=CONTACTS_SOURCE, tenant=tenant, key=account_id, actor=actor)]
        )
    return updated


async def get_account(
    store: DocumentStore, account_id: str, *, tenant: str
) -> tuple[dict[str, Any], int]:
    """An account of the tenant and how many live contacts it has (404 when missing)."""
    async with store.reader() as session:
        doc = await AccountRepository(session, tenant).get(account_id)
        if doc is None:
            raise NotFound(f"account {account_id} not found")
        return doc, await AccountContacts(session, tenant).count(account_id)


async def list_accounts(
    store: DocumentStore, *, tenant: str, text: str | None, limit: int, after: Cursor | None
) -> Page:
    """Accounts in folded-name order whose folded name contains `text`."""
    async with store.reader() as session:
        docs = await AccountRepository(session, tenant).page(
            text=text, limit=limit + 1, after=after
        )
    items = docs[:limit]
    last = items[-1] if len(docs) > limit else None
    return Page(items, Cursor(value=last["name_folded"], id=last["id"]) if last else None)


async def account_contacts(
    store: DocumentStore, account_id: str, *, tenant: str, limit: int, after_id: str | None
) -> Page:
    """Live contacts linked to an account of the tenant, in creation order (404 if none such)."""
    async with store.reader() as session:
        if await AccountRepository(session, tenant).get(account_id) is None:
            raise NotFound(f"account {account_id} not found")
        docs = await AccountContacts(session, tenant).page(
            account_id, limit=limit + 1, after_id=after_id
        )
    items = docs[:limit]
    last = items[-1] if len(docs) > limit else None
    return Page(items, Cursor(value=last["id"], id=last["id"]) if last else None)
