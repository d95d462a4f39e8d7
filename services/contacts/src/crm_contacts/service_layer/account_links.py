"""Linking contacts to accounts inside the contact's own unit of work (create, update, import).

One look-up per call whatever the number of contacts (In on folded names, In on domains) and one
insert for the accounts it creates, so an import batch stays at a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from crm_contacts.adapters.accounts import AccountRepository
from crm_contacts.domain.accounts import AccountLinker, wanted_account
from crm_contacts.domain.contact import Changes, unique
from crm_contacts.domain.importing import BatchPlan
from crm_shared.events.contacts import AccountCreated
from crm_shared.ids import new_id
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.storage import OutgoingEvent, Session


async def link_accounts(
    session: Session, tenant: str, docs: Sequence[dict[str, Any]], *, now: str
) -> list[dict[str, Any]]:
    """Set each contact's `account_id` from its company and email; return the accounts created."""
    wanted = [wanted_account(doc.get("company"), doc.get("email")) for doc in docs]
    names = unique(name for w in wanted if w for name in w.lookup_names())
    domains = unique(w.domain for w in wanted if w and w.domain)
    accounts = AccountRepository(session, tenant)
    known = await accounts.matching(names, domains) if names or domains else []
    linker = AccountLinker(tenant=tenant, known=known, now=now, new_id=new_id)
    for doc, want in zip(docs, wanted, strict=True):
        doc["account_id"] = linker.account_for(want)
    await accounts.add_many(linker.created)
    return linker.created


def account_created_events(
    accounts: Iterable[Mapping[str, Any]], *, tenant: str, actor: str | None
) -> list[OutgoingEvent]:
    """One AccountCreated per new account, keyed by the account id."""
    return [
        outgoing(
            AccountCreated(
                account_id=account["id"],
                version=account["version"],
                name=account["name"],
                domain=account.get("domain"),
            ),
            source=CONTACTS_SOURCE,
            tenant=tenant,
            key=account["id"],
            actor=actor,
        )
        for account in accounts
    ]


def needs_relink(changed: Iterable[str], doc: Mapping[str, Any]) -> bool:
    """Whether a change may move the contact to another account.

    The company decides when there is one; the email's domain only when there is none (a new
    address at the same company keeps the link, even after the account was renamed).
    """
    fields = set(changed)
    if "company" in fields:
        return True
    return "email" in fields and (not doc.get("company") or doc.get("account_id") is None)


async def relink_contact(
    session: Session,
    tenant: str,
    before: Mapping[str, Any],
    updated: dict[str, Any],
    changes: Changes,
    *,
    now: str,
    actor: str | None,
) -> list[OutgoingEvent]:
    """Relink an updated contact if its company or email changed; record an account change."""
    if not needs_relink(changes, updated):
        return []
    created = await link_accounts(session, tenant, [updated], now=now)
    if updated.get("account_id") != before.get("account_id"):
        changes["account_id"] = (before.get("account_id"), updated.get("account_id"))
    return account_created_events(created, tenant=tenant, actor=actor)


async def link_import_batch(
    session: Session, tenant: str, plan: BatchPlan, *, now: str, actor: str | None
) -> list[OutgoingEvent]:
    """Link a batch's new contacts, and its updated ones whose company or email changed."""
    imported = {entry["contact_id"]: entry for entry in plan.imported}
    docs = list(plan.inserts)
    docs += [
        doc
        for doc in plan.replacements.values()
        if needs_relink(imported[doc["id"]]["changed_fields"], doc)
    ]
    if not docs:
        return []
    before = {doc["id"]: doc.get("account_id") for doc in docs}
    created = await link_accounts(session, tenant, docs, now=now)
    for doc in docs:
        if doc.get("account_id") != before[doc["id"]]:
            changed_fields = imported[doc["id"]]["changed_fields"]
            if "account_id" not in changed_fields:
                changed_fields.append("account_id")
    return account_created_events(created, tenant=tenant, actor=actor)
