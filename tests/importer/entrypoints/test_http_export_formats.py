"""/v1/exports: every field, CSV and .xlsx, the BOM option, neutralized formulas, the listing."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import openpyxl

from crm_shared.contact_fields import EXPORTABLE_FIELDS
from tests.conftest import OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.importer.helpers import FakeContactsApi, contact, run_export

EVERY_FIELD = [*EXPORTABLE_FIELDS, "custom.plan", "custom.seats"]
FORMULAS = {"name": '=HYPERLINK("http://evil","x")', "company": "@SUM(A1:A9)"}


def full_contact(n: int, **extra: Any) -> dict[str, Any]:
    """A contact with every exportable field set, as the contacts API lists it."""
    return contact(
        n,
        phone="+33612345678",
        emails=[f"p{n}.work@example.com", f"p{n}.home@example.com"],
        phones=["+14155550100"],
        owner="user-7",
        account_id="acc-1",
        campaigns=["cmp-1", "cmp-2"],
        external_ids={"hubspot": "123"},
        sources=["import", "chat"],
        deleted_at=None,
        **extra,
    )


async def download(client: httpx.AsyncClient, export_id: str) -> httpx.Response:
    response = await client.get(f"/v1/exports/{export_id}/download", headers=auth(VIEWER_KEY))
    assert response.status_code == 200, response.text
    return response


async def test_an_export_of_every_field_writes_each_one(
    client: httpx.AsyncClient, contacts_api: FakeContactsApi
) -> None:
    contacts_api.contacts = [full_contact(1)]

    done = await run_export(client, {"fields": EVERY_FIELD})
    rows = list(csv.reader(io.StringIO((await download(client, done["id"])).text)))

    assert rows[0] == EVERY_FIELD
    assert dict(zip(EVERY_FIELD, rows[1], strict=True)) == {
        "id": "c1",
        "name": "Person 1",
        "email": "p1@example.com",
        "phone": "+33612345678",
        "company": "Acme",
        "timezone": "Europe/Paris",
        "tags": "vip;early",
        "emails": "p1.work@example.com;p1.home@example.com",
        "phones": "+14155550100",
        "owner": "user-7",
        "account_id": "acc-1",
        "external_ids": '{"hubspot":"123"}',
        "sources": "import;chat",
        "campaigns": "cmp-1;cmp-2",
        "source": "import",
        "created_at": "2026-01-01T00:00:00.000000Z",
        "updated_at": "2026-01-02T00:00:00.000000Z",
        "deleted_at": "",
        "custom.plan": "pro",
        "custom.seats": "3",
    }


async def test_formula_cells_are_neutralized_in_a_csv_export(
    client: httpx.AsyncClient, contacts_api: FakeContactsApi
) -> None:
    contacts_api.contacts = [full_contact(1, **FORMULAS, custom_fields={"plan": "-2+3+cmd|x"})]

    done = await run_export(client, {"fields": ["name", "company", "phone", "custom.plan"]})
    rows = list(csv.reader(io.StringIO((await download(client, done["id"])).text)))

    assert rows[1] == [
        "'" + FORMULAS["name"],
        "'" + FORMULAS["company"],
        "+33612345678",  # a plain number: kept, so the phone imports again as it was
        "'-2+3+cmd|x",
    ]


async def test_an_xlsx_export_is_a_workbook_of_text_cells_with_formulas_neutralized(
    client: httpx.AsyncClient, contacts_api: FakeContactsApi
) -> None:
    contacts_api.contacts = [full_contact(1, **FORMULAS), full_contact(2)]
    fields = ["id", "name", "company", "phone", "tags", "custom.seats"]

    done = await run_export(client, {"fields": fields, "format": "xlsx"})
    response = await download(client, done["id"])

    assert done["format"] == "xlsx"
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["content-disposition"].endswith(f'{done["id"]}.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    sheet = book["contacts"]
    cells = [list(row) for row in sheet.iter_rows()]
    values = [[cell.value for cell in row] for row in cells]
    assert values == [
        fields,
        ["c1", "'" + FORMULAS["name"], "'" + FORMULAS["company"], "+33612345678", "vip;early", "3"],
        ["c2", "Person 2", "Acme", "+33612345678", "vip;early", "3"],
    ]
    # Every cell is a text cell: nothing is a formula, and "3" stays the text it was exported as.
    assert {cell.data_type for row in cells for cell in row} == {"s"}


async def test_a_csv_export_starts_with_a_bom_only_when_asked(
    client: httpx.AsyncClient, contacts_api: FakeContactsApi
) -> None:
    contacts_api.contacts = [full_contact(1, name="Zoë")]

    with_bom = await run_export(client, {"fields": ["name"], "bom": True})
    without = await run_export(client, {"fields": ["name"]})
    bom_bytes = (await download(client, with_bom["id"])).content
    plain_bytes = (await download(client, without["id"])).content

    assert with_bom["bom"] is True
    assert bom_bytes == b"\xef\xbb\xbfname\r\nZo\xc3\xab\r\n"
    assert plain_bytes == b"name\r\nZo\xc3\xab\r\n"


async def test_a_bom_for_an_xlsx_export_is_refused_by_name(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/exports", json={"fields": ["name"], "format": "xlsx", "bom": True}, headers=auth()
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "bom"


async def test_an_unknown_format_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/exports", json={"fields": ["name"], "format": "ods"}, headers=auth()
    )

    assert response.status_code == 422
    assert "format" in response.text


async def test_an_unknown_field_among_every_field_is_named(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/exports", json={"fields": [*EVERY_FIELD, "consent"]}, headers=auth()
    )

    assert response.status_code == 422
    assert response.json()["field"] == "consent"


async def test_exports_are_listed_newest_first_in_pages_of_the_tenant_only(
    client: httpx.AsyncClient,
) -> None:
    made = [(await run_export(client, {"fields": ["id"]}))["id"] for _ in range(5)]
    other = await client.post(
        "/v1/exports", json={"fields": ["id"]}, headers=auth(OTHER_TENANT_KEY)
    )

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/exports", params=params, headers=auth(VIEWER_KEY))
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        assert all(item["status"] == "completed" for item in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert other.status_code == 202
    assert seen == list(reversed(made))
    assert pages == 3


async def test_a_made_up_export_cursor_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/exports?cursor=bm9wZQ", headers=auth())

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
