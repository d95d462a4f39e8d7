"""Consents over HTTP: the ledger's events kept by the consumer, `GET /v1/contacts/{id}/consents`,
and `consent=` in listing and search (granted now, or not granted)."""

from __future__ import annotations

from typing import Any

from crm_shared.events import ConsentChanged, ErasureRequested
from crm_shared.ids import new_id
from tests.conftest import VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope


def _decision(contact_id: str, status: str, channel: str = "email") -> ConsentChanged:
    return ConsentChanged.model_validate(
        {
            "contact_id": contact_id,
            "purpose": "marketing",
            "status": status,
            "channel": channel,
            "entry_id": new_id(),
            "lawful_basis": "consent",
            "source": "form:signup",
            "notice_version": "2026-01",
        }
    )


async def _ids(harness: Harness, **params: Any) -> set[str]:
    response = await harness.client.get("/v1/contacts", params=params, headers=auth(VIEWER_KEY))
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def test_a_consent_event_shows_in_the_contacts_consents(harness: Harness) -> None:
    contact = await harness.create(name="Ada Lovelace")
    await harness.handle(envelope(_decision(contact["id"], "granted")))
    response = await harness.client.get(
        f"/v1/contacts/{contact['id']}/consents", headers=auth(VIEWER_KEY)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["granted"] == ["marketing:email"]
    [held] = body["consents"]
    assert (held["purpose"], held["channel"], held["status"]) == ("marketing", "email", "granted")
    assert held["source"] == "form:signup" and held["notice_version"] == "2026-01"
    assert held["effective_at"].endswith("Z")


async def test_consent_filters_listing_and_search_both_ways(harness: Harness) -> None:
    agreed = await harness.create(name="Ada Agreed")
    withdrew = await harness.create(name="Grace Withdrew")
    never = await harness.create(name="Alan Never")
    await harness.handle(envelope(_decision(agreed["id"], "granted")))
    await harness.handle(envelope(_decision(withdrew["id"], "granted", channel="any")))
    await harness.handle(envelope(_decision(withdrew["id"], "withdrawn", channel="any")))
    assert await _ids(harness, consent="marketing:email") == {agreed["id"]}
    assert await _ids(harness, consent="!marketing:email") == {withdrew["id"], never["id"]}
    response = await harness.client.post(
        "/v1/contacts/search",
        json={"filter": {"consent": ["!marketing:email"], "q": "grace"}},
        headers=auth(VIEWER_KEY),
    )
    assert [item["id"] for item in response.json()["items"]] == [withdrew["id"]]


async def test_a_malformed_consent_filter_is_a_422_naming_it(harness: Harness) -> None:
    response = await harness.client.get(
        "/v1/contacts", params={"consent": "marketing:fax"}, headers=auth(VIEWER_KEY)
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "consent" in response.text


async def test_an_erased_contacts_consents_are_gone(harness: Harness) -> None:
    contact = await harness.create(name="Ada Lovelace")
    await harness.handle(envelope(_decision(contact["id"], "granted")))
    await harness.handle(envelope(ErasureRequested(erasure_id="er-1", contact_id=contact["id"])))
    response = await harness.client.get(
        f"/v1/contacts/{contact['id']}/consents", headers=auth(VIEWER_KEY)
    )
    assert response.status_code == 410, response.text
    assert await _ids(harness, consent="marketing:email") == set()


async def test_an_unknown_contact_has_no_consents_to_show(harness: Harness) -> None:
    response = await harness.client.get(
        f"/v1/contacts/{new_id()}/consents", headers=auth(VIEWER_KEY)
    )
    assert response.status_code == 404, response.text
