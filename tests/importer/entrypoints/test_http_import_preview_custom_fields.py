"""The preview names the columns mapped to undefined custom fields, with the type an upload
with create_fields=true would give them, so the wizard can offer to create them."""

from __future__ import annotations

import json

import httpx

from tests.conftest import EDITOR_KEY, auth
from tests.importer.helpers import FakeContactsApi

FILE = "name;email;Seats;Reference\nRenée;renee@exemple.fr;1.234,5;A-12\n".encode("cp1252")
MAPPING = {"Seats": "custom.seats", "Reference": "custom.reference"}


async def _preview(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    return await client.post(
        "/v1/imports/preview",
        files={"file": ("contacts.csv", FILE, "text/csv")},
        data={"mapping": json.dumps(MAPPING), **fields},
        headers=auth(EDITOR_KEY),
    )


async def test_an_undefined_field_is_a_mapping_problem_with_the_type_it_would_get(
    client: httpx.AsyncClient, contacts_api: FakeContactsApi
) -> None:
    response = await _preview(client)
    assert response.status_code == 200, response.text
    [problem] = response.json()["mapping_problems"]
    assert problem["column"] == "Reference"
    assert problem["field"] == "custom.reference"
    assert problem["problem"] == "undefined_custom_field"
    assert problem["type"] == "text"
    assert problem["created_on_upload"] is False
    assert "send create_fields=true" in problem["message"]
    # A preview only reads the definitions: nothing is created.
    assert "reference" not in contacts_api.custom_fields


async def test_with_create_fields_the_problem_says_the_upload_creates_it_as_typed(
    client: httpx.AsyncClient, contacts_api: FakeContactsApi
) -> None:
    mapping = {**MAPPING, "Reference": "custom.reference:number"}
    response = await client.post(
        "/v1/imports/preview",
        files={"file": ("contacts.csv", FILE, "text/csv")},
        data={"mapping": json.dumps(mapping), "create_fields": "true"},
        headers=auth(EDITOR_KEY),
    )
    assert response.status_code == 200, response.text
    [problem] = response.json()["mapping_problems"]
    assert (problem["type"], problem["created_on_upload"]) == ("number", True)
    assert "reference" not in contacts_api.custom_fields


async def test_defined_fields_are_no_problem_and_their_number_cells_show_as_numbers(
    client: httpx.AsyncClient, contacts_api: FakeContactsApi
) -> None:
    contacts_api.custom_fields["reference"] = "text"
    response = await _preview(client)
    body = response.json()
    assert body["mapping_problems"] == []
    assert body["rows"][0]["values"]["custom_fields"] == {"seats": "1234.5", "reference": "A-12"}


async def test_a_bad_create_fields_value_is_refused_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    response = await _preview(client, create_fields="sometimes")
    assert response.status_code == 422
    assert response.json()["field"] == "create_fields"
