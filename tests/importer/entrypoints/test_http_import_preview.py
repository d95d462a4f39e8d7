"""POST /v1/imports/preview: layout, columns with suggestions, first rows with problems."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.importer.files.workbooks import xlsx
from tests.importer.helpers import outbox


async def _preview(
    client: httpx.AsyncClient,
    content: bytes,
    *,
    fields: dict[str, str] | None = None,
    filename: str = "contacts.csv",
    key: str = EDITOR_KEY,
) -> httpx.Response:
    return await client.post(
        "/v1/imports/preview",
        files={"file": (filename, content, "application/octet-stream")},
        data=fields or {},
        headers=auth(key),
    )


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_preview_shows_layout_suggestions_and_rows_with_problems(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    csv = (
        "Export\n"
        "Prénom;Nom;Courriel;Téléphone;Remarque\n"
        "Renée;Dupont;renee@exemple.fr;+0987654321;ok\n"
        "Jörg;Müller;jorg@;+33 1 23 45 67 89;\n"
    ).encode("cp1252")

    body = await _ok(await _preview(client, csv))

    assert (body["format"], body["encoding"], body["delimiter"], body["header_row"]) == (
        "csv",
        "cp1252",
        "semicolon",
        2,
    )
    assert body["warnings"] == ["the first 1 row(s) are above the header row and are not imported"]
    columns = body["columns"]
    assert [c["header"] for c in columns] == ["Prénom", "Nom", "Courriel", "Téléphone", "Remarque"]
    assert [c["suggested"] and c["suggested"]["field"] for c in columns] == [
        "name",
        "name",
        "email",
        "phone",
        None,
    ]
    assert columns[2]["samples"] == ["renee@exemple.fr", "jorg@"]
    assert body["rows"][0] == {
        "row_number": 1,
        "values": {"name": "Renée Dupont", "email": "renee@exemple.fr", "phone": "+0987654321"},
        "problems": ["phone is not a valid phone number (left out)"],
    }
    assert body["rows"][1]["problems"] == ["email is not a valid address (left out)"]
    # Nothing was stored or queued.
    assert await outbox(app) == []


async def test_a_workbook_preview_lists_its_sheets(client: httpx.AsyncClient) -> None:
    book = xlsx({"Notes": [["hello"]], "People": [["Name", "Email"], ["Ada", "ada@x.io"]]})

    body = await _ok(await _preview(client, book, filename="b.xlsx", fields={"sheet": "People"}))

    assert (body["format"], body["sheet"], body["sheets"]) == (
        "xlsx",
        "People",
        ["Notes", "People"],
    )
    assert body["rows"] == [
        {"row_number": 1, "values": {"name": "Ada", "email": "ada@x.io"}, "problems": []}
    ]


async def test_a_preview_whose_mapping_names_no_name_or_email_is_a_422(
    client: httpx.AsyncClient,
) -> None:
    response = await _preview(
        client,
        b"Full Name,Email\nAda,a@x.io\n",
        fields={"mapping": '{"Full Name": null, "Email": null}'},
    )
    assert response.status_code == 422
    assert "no column maps" in response.json()["detail"]


async def test_a_preview_refuses_unknown_fields_and_viewers(client: httpx.AsyncClient) -> None:
    unknown = await _preview(client, b"name\nAda\n", fields={"on_duplicate": "skip"})
    assert unknown.status_code == 400
    assert "on_duplicate" in unknown.json()["detail"]
    viewer = await _preview(client, b"name\nAda\n", key=VIEWER_KEY)
    assert viewer.status_code == 403
