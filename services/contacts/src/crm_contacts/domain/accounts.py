"""Accounts (companies): which account a contact belongs to, by company name or work domain.

A contact links to the account whose folded name equals its folded company; failing that, to
the account with its work-email domain; failing that, a new account is created. Free-mail
domains say nothing about an employer, so they never create or match an account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from crm_contacts.domain.errors import FieldProblem, InvalidFields
from crm_contacts.domain.text import fold
from crm_shared.identity import email_domain, normalize_domain

ACCOUNT_NAME_MAX = 200
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
    }
)


def is_free_mail(domain: str) -> bool:
    """True for a consumer mailbox domain (gmail.com, web.de, ...)."""
    return domain in FREE_MAIL_DOMAINS


def work_domain(email: str | None) -> str | None:
    """The domain of a normalized address unless it is a free-mail domain."""
    domain = email_domain(email)
    return None if domain is None or is_free_mail(domain) else domain


def _account_name(value: Any) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not fold(name):
        raise ValueError("is required and cannot be empty")
    if len(name) > ACCOUNT_NAME_MAX:
        raise ValueError(f"must be at most {ACCOUNT_NAME_MAX} characters")
    return name


def _account_domain(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    domain = normalize_domain(value) if isinstance(value, str) else None
    if domain is None:
        raise ValueError("is not a valid domain name (for example example.com)")
    if is_free_mail(domain):
        raise ValueError("is a free-mail domain; accounts never match by one")
    return domain


def validate_account(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The account fields present in `raw` (name, domain) normalized; InvalidFields if not."""
    checkers = {"name": _account_name, "domain": _account_domain}
    fields: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for field, value in raw.items():
        checker = checkers.get(field)
        if checker is None:
            problems.append(FieldProblem(field, "is not an account field"))
            continue
        try:
            fields[field] = checker(value)
        except ValueError as exc:
            problems.append(FieldProblem(field, str(exc)))
    if problems:
        raise InvalidFields(problems)
    if "name" in fields:
        fields["name_folded"] = fold(fields["name"])
    return fields


@dataclass(frozen=True, slots=True)
class AccountWanted:
    """What a contact's account is looked up by: its company (as typed and folded), its domain."""

    name: str | None
    name_folded: str | None
    domain: str | None

    def lookup_names(self) -> tuple[str, ...]:
        """Folded names to look up: the company's, or for a domain alone the domain's."""
        if self.name_folded:
            return (self.name_folded,)
        return (fold(self.domain),) if self.domain else ()


def wanted_account(company: str | None, email: str | None) -> AccountWanted | None:
    """What to link a contact with this company and email to; None when nothing says."""
    name = company.strip() if company else None
    folded = fold(name) if name else None
    domain = work_domain(email)
    if not folded and domain is None:
        return None
    return AccountWanted(name=name if folded else None, name_folded=folded or None, domain=domain)


def new_account(
    *, account_id: str, tenant: str, name: str, domain: str | None, now: str
) -> dict[str, Any]:
    """A version-1 account document."""
    return {
        "id": account_id,
        "tenant": tenant,
        "version": 1,
        "name": name,
        "name_folded": fold(name),
        "domain": domain,
        "created_at": now,
        "updated_at": now,
    }


class AccountLinker:
    """Resolves contacts to accounts from the accounts looked up, creating the missing ones.

    Accounts created here are remembered, so later contacts of the same batch share them.
    """

    def __init__(
        self,
        *,
        tenant: str,
        known: Iterable[Mapping[str, Any]],
        now: str,
        new_id: Callable[[], str],
    ) -> None:
        self._tenant = tenant
        self._now = now
        self._new_id = new_id
        self._by_name: dict[str, str] = {}
        self._by_domain: dict[str, str] = {}
        self.created: list[dict[str, Any]] = []
        for account in known:  # ids ascend: the oldest account of a domain wins
            self._remember(account)

    def _remember(self, account: Mapping[str, Any]) -> None:
        self._by_name.setdefault(account["name_folded"], account["id"])
        if account.get("domain"):
            self._by_domain.setdefault(account["domain"], account["id"])

    def account_for(self, wanted: AccountWanted | None) -> str | None:
        """The id of the account for `wanted` (created if missing); None when nothing says."""
        if wanted is None:
            return None
        by_name = self._by_name.get(wanted.name_folded) if wanted.name_folded else None
        by_domain = self._by_domain.get(wanted.domain) if wanted.domain else None
        # A domain alone also matches an account named after it ("acme.com").
        named_after_domain = (
            self._by_name.get(fold(wanted.domain))
            if wanted.domain and not wanted.name_folded
            else None
        )
        found = by_name or by_domain or named_after_domain
        if found is not None:
            return found
        account = new_account(
            account_id=self._new_id(),
            tenant=self._tenant,
            name=wanted.name or str(wanted.domain),
            domain=wanted.domain,
            now=self._now,
        )
        self._remember(account)
        self.created.append(account)
        return str(account["id"])
