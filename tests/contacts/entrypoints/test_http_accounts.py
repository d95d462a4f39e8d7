"""Accounts over HTTP: linking on create and patch, reading, listing, managing, isolation."""

from __future__ import annotations

from typing import Any

from crm_shared.events import ContactUpdated
from crm_shared.events.contacts import AccountCreated
from crm_shared.topics import CONTACT_EVENTS
from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness


async def _get(harness: Harness, path: str, **params: Any) -> dict[str, Any]:
    response = await harness.client.get(path, params=params, headers=auth(VIEWER_KEY))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _account(harness: Harness, account_id: str) -> dict[str, Any]:
    return await _get(harness, f"/v1/accounts/{account_id}")


async def test_company_creates_an_account_with_the_work_domain(harness: Harness) -> None:
    contact = await harness.create(company=" Analytical Engines ", email="ada@engines.example")
    account = await _account(harness, contact["account_id"])
    assert (account["name"], account["domain"], account["contact_count"]) == (
        "Analytical Engines",
        "engines.example",
        1,
    )
    assert set(account) >= {"id", "created_at", "updated_at"}


async def test_new_account_publishes_account_created_keyed_by_its_id(harness: Harness) -> None:
    contact = await harness.create(company="Acme")
    [event] = await harness.outbox(AccountCreated.event_type)
    assert (event.topic, event.key) == (CONTACT_EVENTS.name, contact["account_id"])
    assert event.data == {
        "account_id": contact["account_id"],
        "version": 1,
        "name": "Acme",
        "domain": None,
    }


async def test_same_company_in_other_case_and_accents_shares_one_account(
    harness: Harness,
) -> None:
    first = await harness.create(company="Müller GmbH")
    second = await harness.create(name="Grace", company="MULLER  gmbh")
    assert first["account_id"] == second["account_id"]
    assert second["company"] == "MULLER  gmbh"
    assert (await _account(harness, first["account_id"]))["contact_count"] == 2
    assert len(await harness.outbox(AccountCreated.event_type)) == 1


async def test_free_mail_domain_creates_no_account(harness: Harness) -> None:
    contact = await harness.create(email="ada@gmail.com")
    assert contact["account_id"] is None
    assert (await _get(harness, "/v1/accounts"))["items"] == []


async def test_free_mail_domain_never_matches_an_account(harness: Harness) -> None:
    await harness.create(company="Gmail Fans", email="a@gmail.com")
    other = await harness.create(name="Grace", email="grace@gmail.com")
    assert other["account_id"] is None


async def test_work_domain_alone_links_contacts_to_one_account(harness: Harness) -> None:
    first = await harness.create(email="ada@acme.example")
    second = await harness.create(name="Grace", email="grace@acme.example")
    assert first["account_id"] == second["account_id"] is not None
    account = await _account(harness, first["account_id"])
    assert (account["name"], account["domain"]) == ("acme.example", "acme.example")


async def test_unknown_company_links_the_account_of_its_work_domain(harness: Harness) -> None:
    first = await harness.create(company="Acme Corp", email="ada@acme.example")
    second = await harness.create(name="Grace", company="Acme Labs", email="g@acme.example")
    assert second["account_id"] == first["account_id"]


async def test_patching_the_company_moves_the_contact_and_publishes_the_link_change(
    harness: Harness,
) -> None:
    contact = await harness.create(company="Acme")
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}", json={"company": "Globex"}, headers=auth(EDITOR_KEY)
    )
    moved = response.json()
    assert moved["account_id"] not in (None, contact["account_id"])
    [event] = await harness.outbox(ContactUpdated.event_type)
    assert event.data["changes"]["account_id"] == {
        "before": contact["account_id"],
        "after": moved["account_id"],
    }
    assert (await _account(harness, contact["account_id"]))["contact_count"] == 0


async def test_clearing_the_company_unlinks_a_contact_with_a_free_mail_address(
    harness: Harness,
) -> None:
    contact = await harness.create(company="Acme", email="ada@gmail.com")
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}", json={"company": None}, headers=auth(EDITOR_KEY)
    )
    assert response.json()["account_id"] is None


async def test_patching_the_email_of_a_contact_with_a_company_keeps_its_account(
    harness: Harness,
) -> None:
    contact = await harness.create(company="Acme", email="ada@acme.example")
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"email": "ada@other.example"},
        headers=auth(EDITOR_KEY),
    )
    assert response.json()["account_id"] == contact["account_id"]
    [event] = await harness.outbox(ContactUpdated.event_type)
    assert "account_id" not in event.data["changes"]


async def test_patching_the_email_of_a_contact_without_company_follows_the_domain(
    harness: Harness,
) -> None:
    contact = await harness.create(email="ada@acme.example")
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"email": "ada@globex.example"},
        headers=auth(EDITOR_KEY),
    )
    account = await _account(harness, response.json()["account_id"])
    assert account["domain"] == "globex.example"


async def test_list_finds_accounts_by_folded_name_substring(harness: Harness) -> None:
    await harness.create(company="Zoë Müller AG")
    await harness.create(name="Grace", company="Globex")
    page = await _get(harness, "/v1/accounts", q="MULLER")
    assert [a["name"] for a in page["items"]] == ["Zoë Müller AG"]


async def test_list_pages_accounts_in_name_order(harness: Harness) -> None:
    for company in ("Charlie", "alpha", "Bravo"):
        await harness.create(name=company, company=company)
    first = await _get(harness, "/v1/accounts", limit=2)
    second = await _get(harness, "/v1/accounts", limit=2, cursor=first["next_cursor"])
    assert [a["name"] for a in first["items"]] == ["alpha", "Bravo"]
    assert ([a["name"] for a in second["items"]], second["next_cursor"]) == (["Charlie"], None)


async def test_malformed_account_cursor_is_400(harness: Harness) -> None:
    response = await harness.client.get(
        "/v1/accounts", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=auth(VIEWER_KEY)
    )
    assert response.status_code == 400


async def test_oversized_account_page_is_422(harness: Harness) -> None:
    response = await harness.client.get(
        "/v1/accounts", params={"limit": 201}, headers=auth(VIEWER_KEY)
    )
    assert response.status_code == 422


async def test_account_contacts_lists_live_linked_contacts_page_by_page(
    harness: Harness,
) -> None:
    ada = await harness.create(company="Acme")
    grace = await harness.create(name="Grace", company="acme")
    gone = await harness.create(name="Gone", company="ACME")
    await harness.create(name="Other", company="Globex")
    deleted = await harness.client.delete(f"/v1/contacts/{gone['id']}", headers=auth(EDITOR_KEY))
    assert deleted.status_code == 204
    path = f"/v1/accounts/{ada['account_id']}/contacts"
    first = await _get(harness, path, limit=1)
    second = await _get(harness, path, limit=1, cursor=first["next_cursor"])
    assert [c["id"] for c in first["items"] + second["items"]] == [ada["id"], grace["id"]]
    assert second["next_cursor"] is None
    assert (await _account(harness, ada["account_id"]))["contact_count"] == 2


async def test_another_tenants_account_is_404(harness: Harness) -> None:
    contact = await harness.create(company="Acme")
    for path in (
        f"/v1/accounts/{contact['account_id']}",
        f"/v1/accounts/{contact['account_id']}/contacts",
    ):
        response = await harness.client.get(path, headers=auth(OTHER_TENANT_KEY))
        assert response.status_code == 404, path
    listed = await harness.client.get("/v1/accounts", headers=auth(OTHER_TENANT_KEY))
    assert listed.json()["items"] == []


async def test_unknown_account_is_404(harness: Harness) -> None:
    response = await harness.client.get("/v1/accounts/nope", headers=auth(VIEWER_KEY))
    assert response.status_code == 404


async def test_accounts_need_an_api_key(harness: Harness) -> None:
    assert (await harness.client.get("/v1/accounts")).status_code == 401
    wrong = await harness.client.get("/v1/accounts", headers=auth("wrong-key"))
    assert wrong.status_code == 401
