"""`match_on=external_id`: a column mapped to `external_ids.<system>` finds the contact an
integration upserted under that id, in a dry run and in the real import's batches."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from crm_shared.events import ImportContactsBatch
from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.importer.helpers import job, outbox, upload
from tests.polling import eventually

# A HubSpot export: its "Record ID" is the id HubSpot knows each person by.
FILE = (
    b"Record ID,First Name,Last Name,Email\n"
    b"42,Ada,Lovelace,ada@new.example\n"
    b"43,Grace,Hopper,grace@example.com\n"
)
MAPPING = {"Record ID": "external_ids.hubspot"}


async def _upserted(contacts: httpx.AsyncClient) -> dict[str, Any]:
    """The contact a HubSpot integration synced as id 42, with an older email."""
    response = await contacts.put(
        "/v1/contacts/by-external-id/hubspot/42",
        json={"name": "Ada Lovelace", "email": "ada@old.example"},
        headers=auth(EDITOR_KEY),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_dry_run_matching_on_the_external_id_finds_the_integrations_contact(
    with_contacts: tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    _, client, contacts = with_contacts
    await _upserted(contacts)
    accepted = await upload(
        client,
        FILE,
        mapping=MAPPING,
        on_duplicate="update",
        fields={"dry_run": "true", "match_on": "external_id,email"},
    )
    assert accepted.status_code == 202, accepted.text
    state = await eventually(
        lambda: job(client, accepted.json()["id"]),
        lambda j: j["status"] in ("completed", "failed"),
        within=20.0,
        what="the dry run ended",
    )
    assert state["status"] == "completed", state
    assert (state["created"], state["updated"], state["failed"]) == (1, 1, 0)
    assert state["match_on"] == ["external_id", "email"]
    assert state["mapping"]["Record ID"] == "external_ids.hubspot"


async def test_the_import_batches_carry_the_id_and_contacts_applies_them_by_it(
    with_contacts: tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    importer, client, contacts = with_contacts
    ada = await _upserted(contacts)
    accepted = await upload(
        client, FILE, mapping=MAPPING, on_duplicate="update", fields={"match_on": "external_id"}
    )
    assert accepted.status_code == 202, accepted.text
    [batch] = await eventually(
        lambda: outbox(importer, ImportContactsBatch.event_type),
        lambda found: len(found) == 1,
        within=20.0,
        what="the import's batch in the outbox",
    )
    data = batch.envelope.data
    assert data["match_on"] == ["external_id"]
    assert [r.get("external_ids") for r in data["rows"]] == [{"hubspot": "42"}, {"hubspot": "43"}]

    contacts_app: FastAPI = contacts._transport.app  # type: ignore[attr-defined]
    await contacts_app.state.bus.handle(batch.envelope)
    found = await contacts.get("/v1/contacts/by-external-id/hubspot/42", headers=auth(VIEWER_KEY))
    assert found.json()["id"] == ada["id"]
    assert found.json()["emails"] == ["ada@new.example"]
    grace = await contacts.get("/v1/contacts/by-external-id/hubspot/43", headers=auth(VIEWER_KEY))
    assert grace.status_code == 200 and grace.json()["name"] == "Grace Hopper"


async def test_match_on_external_id_without_an_external_id_column_is_refused(
    with_contacts: tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    _, client, _ = with_contacts
    response = await upload(client, FILE, fields={"match_on": "external_id"})
    assert response.status_code == 422
    assert response.json()["field"] == "match_on"
    assert "external_ids.<system>" in response.json()["detail"]


async def test_two_external_id_columns_are_refused_naming_both(
    with_contacts: tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    _, client, _ = with_contacts
    two = b"HubSpot ID,Salesforce ID,Email\n1,003,a@example.com\n"
    mapping = {"HubSpot ID": "external_ids.hubspot", "Salesforce ID": "external_ids.salesforce"}
    response = await upload(client, two, mapping=mapping)
    assert response.status_code == 422
    assert "'HubSpot ID' and 'Salesforce ID'" in response.json()["detail"]
