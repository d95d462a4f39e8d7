"""`GET /v1/import-rows`: the stored rows that mention a person, found by the keyed hashes of
the person's identifiers, for the gdpr service's access bundle; erasure removes them."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from crm_importer.service_layer.erasure import erase_contacts
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ErasureRequested
from crm_shared.identity import PersonIdentifiers, person_hashes
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, auth
from tests.importer.helpers import upload, wait_for

# Row 1 has a cell too many: the importer fails it itself and keeps its mapped cells.
FILE = b"name,email\nAda Lovelace,ada@example.com,extra\nGrace,grace@example.com\n"


def _hashes(app: FastAPI, email: str) -> list[str]:
    settings = app.state.settings
    person = PersonIdentifiers(emails=[email])
    return person_hashes(settings.suppression_key, person, region=settings.crm_default_region)


async def _rows(
    client: httpx.AsyncClient, hashes: list[str], key: str = ADMIN_KEY
) -> httpx.Response:
    return await client.get(
        "/v1/import-rows", params={"identifier_hash": hashes}, headers=auth(key)
    )


async def test_the_rows_holding_the_persons_identifiers_come_with_their_cells(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    accepted = await upload(client, FILE)
    assert accepted.status_code == 202, accepted.text
    hashes = _hashes(app, "ada@example.com")
    found = await wait_for(
        lambda: _rows(client, hashes), lambda r: bool(r.status_code == 200 and r.json()["items"])
    )
    [row] = found.json()["items"]
    assert (row["job_id"], row["row_number"], row["outcome"]) == (
        accepted.json()["id"],
        1,
        "failed",
    )
    assert row["row"] == {"name": "Ada Lovelace", "email": "ada@example.com"}
    assert "3 cells" in row["reason"]
    # Another person's identifiers, another tenant or a non-admin key find nothing of Ada.
    assert (await _rows(client, _hashes(app, "grace@example.com"))).json()["items"] == []
    assert (await _rows(client, hashes, OTHER_TENANT_KEY)).json()["items"] == []
    assert (await _rows(client, hashes, EDITOR_KEY)).status_code == 403


async def test_an_erasure_leaves_no_row_for_the_bundle_to_find(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await upload(client, FILE)
    hashes = _hashes(app, "ada@example.com")
    await wait_for(lambda: _rows(client, hashes), lambda r: bool(r.json()["items"]))
    request = ErasureRequested(erasure_id="er-1", contact_id="c-1", identifier_hashes=hashes)
    envelope = EventEnvelope.wrap(request, source="crm/gdpr", tenant="acme", subject="c-1")
    await erase_contacts(app.state.store, app.state.files, [(request, envelope)])
    assert (await _rows(client, hashes)).json()["items"] == []


async def test_hashes_that_are_not_hashes_are_a_422_naming_the_parameter(
    client: httpx.AsyncClient,
) -> None:
    response = await _rows(client, ["ada@example.com"])
    assert response.status_code == 422
    assert "identifier_hash" in response.text
