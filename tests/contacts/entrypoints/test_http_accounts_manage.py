"""Creating and renaming accounts by hand: conflicts, bad input, roles, the rename rule."""

from __future__ import annotations

from typing import Any

import httpx

from crm_shared.events.contacts import AccountCreated, AccountUpdated
from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness
from tests.openapi_documents import OpenApiDocuments


async def _post(harness: Harness, body: dict[str, Any], key: str = EDITOR_KEY) -> httpx.Response:
    return await harness.client.post("/v1/accounts", json=body, headers=auth(key))


async def _patch(
    harness: Harness, account_id: str, body: dict[str, Any], **headers: str
) -> httpx.Response:
    return await harness.client.patch(
        f"/v1/accounts/{account_id}", json=body, headers={**auth(EDITOR_KEY), **headers}
    )


async def test_post_creates_an_account_and_publishes_it(harness: Harness) -> None:
    response = await _post(harness, {"name": " Initech ", "domain": "Initech.example"})
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["domain"], body["version"]) == ("Initech", "initech.example", 1)
    assert response.headers["location"] == f"/v1/accounts/{body['id']}"
    [event] = await harness.outbox(AccountCreated.event_type)
    assert event.key == body["id"]


async def test_a_contact_then_links_the_account_created_by_hand(harness: Harness) -> None:
    account = (await _post(harness, {"name": "Initech", "domain": "initech.example"})).json()
    contact = await harness.create(email="peter@initech.example")
    assert contact["account_id"] == account["id"]


async def test_post_with_a_name_taken_ignoring_case_and_accents_is_409(harness: Harness) -> None:
    first = (await _post(harness, {"name": "Zoë AG"})).json()
    response = await _post(harness, {"name": "ZOE  ag"})
    assert response.status_code == 409
    assert response.json()["existing_id"] == first["id"]


async def test_post_with_a_domain_taken_is_409(harness: Harness) -> None:
    await _post(harness, {"name": "One", "domain": "acme.example"})
    response = await _post(harness, {"name": "Two", "domain": "ACME.example"})
    assert response.status_code == 409


async def test_post_with_a_free_mail_domain_is_422_naming_it(harness: Harness) -> None:
    response = await _post(harness, {"name": "Acme", "domain": "gmail.com"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("domain is a free-mail domain")


async def test_post_without_a_name_is_422(harness: Harness) -> None:
    response = await _post(harness, {"domain": "acme.example"})
    assert response.status_code == 422


async def test_post_with_an_invalid_domain_is_422(harness: Harness) -> None:
    response = await _post(harness, {"name": "Acme", "domain": "not a domain"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "domain"]


async def test_viewer_cannot_create_or_rename_accounts(harness: Harness) -> None:
    assert (await _post(harness, {"name": "Acme"}, key=VIEWER_KEY)).status_code == 403
    account = (await _post(harness, {"name": "Acme"})).json()
    response = await harness.client.patch(
        f"/v1/accounts/{account['id']}", json={"name": "X"}, headers=auth(VIEWER_KEY)
    )
    assert response.status_code == 403


async def test_rename_keeps_the_contacts_company_text_and_their_link(harness: Harness) -> None:
    contact = await harness.create(company="Acme")
    response = await _patch(harness, contact["account_id"], {"name": "Acme Corporation"})
    assert (response.status_code, response.json()["version"]) == (200, 2)
    assert response.headers["etag"] == '"2"'
    fetched = await harness.client.get(f"/v1/contacts/{contact['id']}", headers=auth(VIEWER_KEY))
    assert (fetched.json()["company"], fetched.json()["account_id"]) == (
        "Acme",
        contact["account_id"],
    )
    [event] = await harness.outbox(AccountUpdated.event_type)
    assert event.data["changes"] == {"name": {"before": "Acme", "after": "Acme Corporation"}}


async def test_after_a_rename_the_old_name_creates_a_new_account(harness: Harness) -> None:
    contact = await harness.create(company="Acme")
    await _patch(harness, contact["account_id"], {"name": "Acme Corporation"})
    later = await harness.create(name="Grace", company="Acme")
    assert later["account_id"] != contact["account_id"]


async def test_rename_to_another_accounts_name_is_409(harness: Harness) -> None:
    acme = await harness.create(company="Acme")
    await harness.create(name="Grace", company="Globex")
    response = await _patch(harness, acme["account_id"], {"name": "GLOBEX"})
    assert response.status_code == 409


async def test_rename_with_a_stale_if_match_is_412_with_the_current_account(
    harness: Harness,
) -> None:
    contact = await harness.create(company="Acme")
    await _patch(harness, contact["account_id"], {"domain": "acme.example"})
    response = await _patch(harness, contact["account_id"], {"name": "Late"}, **{"If-Match": '"1"'})
    assert response.status_code == 412
    assert response.json()["current"]["domain"] == "acme.example"


async def test_patch_that_changes_nothing_keeps_the_version(harness: Harness) -> None:
    contact = await harness.create(company="Acme")
    response = await _patch(harness, contact["account_id"], {"name": "Acme"})
    assert response.json()["version"] == 1
    assert await harness.outbox(AccountUpdated.event_type) == []


async def test_patch_of_an_unknown_account_is_404(harness: Harness) -> None:
    response = await _patch(harness, "missing", {"name": "X"})
    assert response.status_code == 404


def test_openapi_documents_the_rename_rule(openapi_documents: OpenApiDocuments) -> None:
    spec = openapi_documents["contacts"]
    description = spec["paths"]["/v1/accounts/{account_id}"]["patch"]["description"]
    assert "does not rewrite its contacts' `company` text" in description
