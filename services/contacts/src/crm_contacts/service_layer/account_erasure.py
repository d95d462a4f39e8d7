"""What an erasure does to the erased contact's account: the person's own words leave with them.

An account's name is usually a contact's company as they typed it. When that contact is erased:
- an account no other contact links to (live or soft-deleted) is deleted (AccountDeleted);
- an account named after the erased person's company, which no remaining linked contact also
  names, is renamed after its domain, else to a neutral "Account <id>" (AccountUpdated, whose
  `before` is null so the erased text is not repeated);
- otherwise the account is the other contacts' as much as theirs, and stays as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_contacts.adapters.accounts import AccountContacts, AccountRepository
from crm_contacts.domain.contact import bump
from crm_contacts.domain.text import fold
from crm_shared.events.contacts import AccountDeleted, AccountUpdated, FieldChange
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.storage import OutgoingEvent, Session


async def release_account(
    session: Session, tenant: str, erased: Mapping[str, Any], *, now: str, actor: str | None
) -> list[OutgoingEvent]:
    """Delete or rename the erased contact's account as the rules above say (its events)."""
    account_id = erased.get("account_id")
    if account_id is None:
        return []
    accounts = AccountRepository(session, tenant)
    account = await accounts.get(account_id)
    if account is None:
        return []
    linked = AccountContacts(session, tenant)
    if not await linked.any_linked(account_id):
        await accounts.remove(account_id)
        deleted = AccountDeleted(account_id=account_id)
        return [
            outgoing(deleted, source=CONTACTS_SOURCE, tenant=tenant, key=account_id, actor=actor)
        ]
    named_by_erased = fold(erased.get("company") or "") == account["name_folded"]
    if not named_by_erased or await linked.any_with_company(account_id, account["name_folded"]):
        return []
    name = await _neutral_name(accounts, account)
    renamed = bump({**account, "name": name, "name_folded": fold(name)}, now)
    await accounts.save(renamed, expected_version=int(account["version"]))
    updated = AccountUpdated(
        account_id=account_id,
        version=renamed["version"],
        changes={"name": FieldChange(before=None, after=name)},
    )
    return [outgoing(updated, source=CONTACTS_SOURCE, tenant=tenant, key=account_id, actor=actor)]


async def _neutral_name(accounts: AccountRepository, account: Mapping[str, Any]) -> str:
    domain = account.get("domain")
    if domain and await accounts.with_name(fold(domain)) is None:
        return str(domain)
    return f"Account {account['id']}"
