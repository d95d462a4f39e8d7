"""Account rules: free-mail domains, which account a contact links to, account fields."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from crm_contacts.domain.accounts import (
    FREE_MAIL_DOMAINS,
    AccountLinker,
    new_account,
    validate_account,
    wanted_account,
    work_domain,
)
from crm_contacts.domain.errors import InvalidFields

NOW = "2030-01-01T00:00:00.000000Z"


def _linker(*known: dict[str, Any]) -> AccountLinker:
    ids = (f"new-{n}" for n in itertools.count(1))
    return AccountLinker(tenant="acme", known=known, now=NOW, new_id=lambda: next(ids))


def _account(account_id: str, name: str, domain: str | None = None) -> dict[str, Any]:
    return new_account(account_id=account_id, tenant="acme", name=name, domain=domain, now=NOW)


@pytest.mark.parametrize("domain", sorted(FREE_MAIL_DOMAINS))
def test_free_mail_domains_are_no_work_domain(domain: str) -> None:
    assert work_domain(f"someone@{domain}") is None


def test_a_company_domain_is_a_work_domain() -> None:
    assert work_domain("ada@analytical.example") == "analytical.example"


def test_no_company_and_a_free_mail_address_want_no_account() -> None:
    assert wanted_account(None, "ada@gmail.com") is None
    assert wanted_account("   ", None) is None


def test_same_company_in_other_case_and_accents_links_one_new_account() -> None:
    linker = _linker()
    first = linker.account_for(wanted_account("Müller GmbH", None))
    second = linker.account_for(wanted_account("MULLER  gmbh", None))
    assert first == second == "new-1"
    [created] = linker.created
    assert (created["name"], created["name_folded"]) == ("Müller GmbH", "muller gmbh")


def test_folded_name_match_wins_over_the_domain() -> None:
    linker = _linker(_account("a1", "Acme"), _account("a2", "Other", "acme.example"))
    assert linker.account_for(wanted_account("ACME", "x@acme.example")) == "a1"


def test_unknown_company_links_the_account_of_its_work_domain() -> None:
    linker = _linker(_account("a2", "Acme Corp", "acme.example"))
    assert linker.account_for(wanted_account("Acme Labs", "x@acme.example")) == "a2"
    assert linker.created == []


def test_unknown_company_and_domain_create_an_account_with_both() -> None:
    linker = _linker()
    linker.account_for(wanted_account("Acme", "x@acme.example"))
    [created] = linker.created
    assert (created["name"], created["domain"]) == ("Acme", "acme.example")


def test_work_domain_alone_creates_an_account_named_after_it() -> None:
    linker = _linker()
    account_id = linker.account_for(wanted_account(None, "x@acme.example"))
    assert linker.account_for(wanted_account(None, "y@acme.example")) == account_id
    [created] = linker.created
    assert (created["name"], created["domain"]) == ("acme.example", "acme.example")


def test_work_domain_alone_matches_an_account_named_after_it() -> None:
    linker = _linker(_account("a1", "ACME.example"))
    assert linker.account_for(wanted_account(None, "x@acme.example")) == "a1"


def test_company_with_a_free_mail_address_creates_an_account_without_domain() -> None:
    linker = _linker()
    linker.account_for(wanted_account("Acme", "ada@gmail.com"))
    assert linker.created[0]["domain"] is None


def test_the_oldest_account_of_a_domain_wins() -> None:
    linker = _linker(_account("a1", "One", "acme.example"), _account("a2", "Two", "acme.example"))
    assert linker.account_for(wanted_account(None, "x@acme.example")) == "a1"


def test_account_fields_are_normalized() -> None:
    fields = validate_account({"name": "  Zoë Ltd ", "domain": "Bücher.DE"})
    assert fields == {"name": "Zoë Ltd", "name_folded": "zoe ltd", "domain": "xn--bcher-kva.de"}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"name": " "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Acme", "domain": "gmail.com"}, "domain"),
        ({"name": "Acme", "domain": "not a domain"}, "domain"),
        ({"name": "Acme", "colour": "red"}, "colour"),
    ],
)
def test_invalid_account_fields_are_named(raw: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidFields) as raised:
        validate_account(raw)
    assert [p.field for p in raised.value.problems] == [field]
