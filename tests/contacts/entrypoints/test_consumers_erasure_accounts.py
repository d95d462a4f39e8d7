"""Erasure and accounts: an account only the erased person was linked to goes with them."""

from __future__ import annotations

from crm_shared.events import ErasureRequested
from crm_shared.events.contacts import AccountDeleted, AccountUpdated
from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope


async def _erase(harness: Harness, contact_id: str) -> None:
    request = ErasureRequested(erasure_id="er-1", contact_id=contact_id, identifier_hashes=[])
    await harness.handle(envelope(request))


async def _account_status(harness: Harness, account_id: str) -> int:
    response = await harness.client.get(f"/v1/accounts/{account_id}", headers=auth(VIEWER_KEY))
    return response.status_code


async def test_erasing_the_only_linked_contact_removes_the_account(harness: Harness) -> None:
    contact = await harness.create(company="Hyrule Holdings", email="zelda@hyrule.example")
    await _erase(harness, contact["id"])
    assert await _account_status(harness, contact["account_id"]) == 404
    [event] = await harness.outbox(AccountDeleted.event_type)
    assert (event.key, event.data) == (contact["account_id"], {"account_id": contact["account_id"]})


async def _account(harness: Harness, account_id: str) -> dict[str, object]:
    response = await harness.client.get(f"/v1/accounts/{account_id}", headers=auth(VIEWER_KEY))
    assert response.status_code == 200
    return dict(response.json())


async def test_an_account_another_contact_also_names_is_kept_as_it_is(harness: Harness) -> None:
    erased = await harness.create(company="Acme")
    await harness.create(name="Grace", company="ACME")
    await _erase(harness, erased["id"])
    assert (await _account(harness, erased["account_id"]))["name"] == "Acme"
    assert await harness.outbox(AccountDeleted.event_type) == []
    assert await harness.outbox(AccountUpdated.event_type) == []


async def test_an_account_the_erased_person_named_is_renamed_after_its_domain(
    harness: Harness,
) -> None:
    erased = await harness.create(company="Hyrule Holdings", email="zelda@hyrule.example")
    other = await harness.create(name="Link", company="Hyrule", email="link@hyrule.example")
    assert other["account_id"] == erased["account_id"]  # linked by the work domain
    await _erase(harness, erased["id"])
    account = await _account(harness, erased["account_id"])
    assert (account["name"], account["contact_count"]) == ("hyrule.example", 1)
    [event] = await harness.outbox(AccountUpdated.event_type)
    assert event.data["changes"] == {"name": {"before": None, "after": "hyrule.example"}}


async def test_an_account_the_erased_person_did_not_name_is_kept(harness: Harness) -> None:
    named = await harness.create(name="Link", company="Hyrule", email="link@hyrule.example")
    erased = await harness.create(company="Zora Ltd", email="zelda@hyrule.example")
    assert erased["account_id"] == named["account_id"]
    await _erase(harness, erased["id"])
    assert (await _account(harness, named["account_id"]))["name"] == "Hyrule"


async def test_a_soft_deleted_contact_keeps_its_account_through_an_erasure(
    harness: Harness,
) -> None:
    erased = await harness.create(company="Acme")
    deleted = await harness.create(name="Grace", company="Acme")
    await harness.client.delete(f"/v1/contacts/{deleted['id']}", headers=auth(EDITOR_KEY))
    await _erase(harness, erased["id"])
    assert await _account_status(harness, erased["account_id"]) == 200


async def test_a_repeated_erasure_deletes_nothing_more(harness: Harness) -> None:
    contact = await harness.create(company="Acme")
    await _erase(harness, contact["id"])
    await _erase(harness, contact["id"])
    assert len(await harness.outbox(AccountDeleted.event_type)) == 1
