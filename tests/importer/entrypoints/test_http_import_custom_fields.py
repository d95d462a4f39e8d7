"""Columns mapped to custom fields: undefined ones are refused up front or created
(`create_fields`), and decimal commas are rewritten only in number fields."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from crm_shared.events import ImportContactsBatch
from tests.conftest import ADMIN_KEY, VIEWER_KEY, auth
from tests.importer.helpers import FakeContactsApi, job, outbox, upload, upload_and_read
from tests.polling import eventually

SEMICOLON_FILE = "name;email;Seats;Reference\nRenée;renee@exemple.fr;1.234,5;12,5\n".encode(
    "cp1252"
)
MAPPING = {"Seats": "custom.seats", "Reference": "custom.reference"}


async def _custom_values(app: FastAPI) -> list[dict[str, Any]]:
    batches = await outbox(app, ImportContactsBatch.event_type)
    return [row["custom_fields"] for b in batches for row in b.envelope.data["rows"]]


async def test_decimal_commas_are_rewritten_in_number_fields_only(
    client: httpx.AsyncClient, app: FastAPI, contacts_api: FakeContactsApi
) -> None:
    contacts_api.custom_fields["reference"] = "text"
    await upload_and_read(client, SEMICOLON_FILE, mapping=MAPPING)
    # A text field's "12,5" is what the person typed; only the number field is a number.
    assert await _custom_values(app) == [{"seats": "1234.5", "reference": "12,5"}]


async def test_a_column_mapped_to_an_undefined_field_is_refused_naming_both(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    response = await upload(client, SEMICOLON_FILE, mapping=MAPPING)
    assert response.status_code == 422
    problem = response.json()
    assert problem["columns"] == [{"column": "Reference", "custom_field": "reference"}]
    assert "column 'Reference' maps to 'custom.reference'" in problem["detail"]
    listed = await client.get("/v1/imports", headers=auth(VIEWER_KEY))
    assert listed.json()["items"] == []


async def test_create_fields_defines_the_missing_field_with_a_type_from_its_values(
    client: httpx.AsyncClient, app: FastAPI, contacts_api: FakeContactsApi
) -> None:
    csv = b"name;email;Score\nAda;ada@example.com;3,5\nBob;bob@example.com;12\n"
    await upload_and_read(
        client, csv, mapping={"Score": "custom.score"}, fields={"create_fields": "true"}
    )
    assert contacts_api.custom_fields["score"] == "number"
    assert await _custom_values(app) == [{"score": "3.5"}, {"score": "12"}]


async def test_create_fields_through_the_real_contacts_api(
    with_contacts: tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    importer, client, contacts = with_contacts
    csv = b"name,email,Plan,Joined\nAda,ada@example.com,pro,2024-01-31\n"
    mapping = {"Plan": "custom.plan", "Joined": "custom.joined"}
    editor = await upload(client, csv, mapping=mapping, fields={"create_fields": "true"})
    # Defining fields is an admin's right: an editor is told so, and nothing is queued.
    assert editor.status_code == 403
    assert editor.json()["custom_field"] == "plan"

    admin = await upload(
        client, csv, mapping=mapping, fields={"create_fields": "true"}, key=ADMIN_KEY
    )
    assert admin.status_code == 202, admin.text
    defined = await contacts.get("/v1/custom-fields", headers=auth(VIEWER_KEY))
    types = {f["key"]: (f["type"], f["label"]) for f in defined.json()["items"]}
    assert types == {"plan": ("text", "Plan"), "joined": ("date", "Joined")}
    await eventually(
        lambda: job(client, admin.json()["id"]),
        lambda j: not j["total_rows_estimated"],
        within=20.0,
        what="the import read",
    )
    assert await _custom_values(importer) == [{"plan": "pro", "joined": "2024-01-31"}]


async def test_a_type_given_in_the_mapping_wins_over_the_inferred_one(
    client: httpx.AsyncClient, app: FastAPI, contacts_api: FakeContactsApi
) -> None:
    csv = b"name;email;Score\nAda;ada@example.com;3,5\n"
    await upload_and_read(
        client, csv, mapping={"Score": "custom.score:text"}, fields={"create_fields": "true"}
    )
    assert contacts_api.custom_fields["score"] == "text"
    assert await _custom_values(app) == [{"score": "3,5"}]


async def test_a_type_no_new_field_can_have_is_refused(client: httpx.AsyncClient) -> None:
    response = await upload(
        client,
        b"name,Score\nAda,3\n",
        mapping={"Score": "custom.score:dropdown"},
        fields={"create_fields": "true"},
    )
    assert response.status_code == 422
    assert response.json()["column"] == "Score"
