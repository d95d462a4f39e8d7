"""Files as people have them, imported through POST /v1/imports with no mapping: CRM exports,
European Excel CSVs, UTF-16 text, title lines above the header, workbooks; hostile workbooks
refused within a fixed memory budget."""

from __future__ import annotations

import resource
from typing import Any

import httpx
from fastapi import FastAPI

from crm_shared.events import ImportContactsBatch
from tests.conftest import auth
from tests.importer.files.workbooks import entity_expansion, xlsx, zip_bomb
from tests.importer.helpers import outbox, upload, upload_and_read

BATCH = ImportContactsBatch.event_type


async def _rows(app: FastAPI) -> list[dict[str, Any]]:
    rows = [row for b in await outbox(app, BATCH) for row in b.envelope.data["rows"]]
    # Only what a row provides: empty lists and objects are the model's defaults.
    return [{k: v for k, v in row.items() if v not in (None, [], {})} for row in rows]


async def test_a_hubspot_contacts_export_imports_without_a_mapping(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    # The header of HubSpot's "Export contacts" (all properties trimmed to the common ones).
    csv = (
        "Record ID,First Name,Last Name,Email,Phone Number,Mobile Phone Number,Company Name,"
        "Job Title,Lifecycle Stage,Contact owner,Create Date\n"
        "101,Ada,Lovelace,ada@example.com,+44 20 7946 0000,+44 7700 900000,Analytical Engines,"
        "Countess,customer,Sam Owner,2024-01-02 10:00\n"
        "102,José,García,josé.garcía@example.es,,,Telar SL,,lead,,2024-01-03 11:00\n"
    ).encode()

    job = await upload_and_read(client, csv)

    assert job["mapping"] == {
        "First Name": "name",
        "Last Name": "name",
        "Email": "email",
        "Phone Number": "phone",
        "Mobile Phone Number": "phones",
        "Company Name": "company",
    }
    assert await _rows(app) == [
        {
            "row_number": 1,
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "phone": "+44 20 7946 0000",
            "phones": ["+44 7700 900000"],
            "company": "Analytical Engines",
        },
        {
            "row_number": 2,
            "name": "José García",
            "email": "josé.garcía@example.es",
            "company": "Telar SL",
        },
    ]


async def test_a_salesforce_contacts_export_imports_without_a_mapping(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    # Salesforce's contacts report / Data Export column labels.
    csv = (
        b"Contact ID,Salutation,First Name,Last Name,Title,Account Name,Email,Phone,Mobile,"
        b"Mailing City,Contact Owner,Lead Source\n"
        b"0035e00000AbCdE,Ms.,Grace,Hopper,Rear Admiral,US Navy,grace@navy.example,"
        b"(202) 555-0100,(202) 555-0199,Arlington,Pat Owner,Web\n"
    )

    job = await upload_and_read(client, csv)

    assert job["mapping"]["Account Name"] == "company"
    assert job["mapping"]["Mobile"] == "phones"
    assert await _rows(app) == [
        {
            "row_number": 1,
            "name": "Grace Hopper",
            "email": "grace@navy.example",
            "phone": "(202) 555-0100",
            "phones": ["(202) 555-0199"],
            "company": "US Navy",
        }
    ]


async def test_a_semicolon_cp1252_file_with_decimal_commas(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    # European Excel's "CSV (separator: semicolon)": Windows-1252, 1.234,5 for 1234.5.
    csv = (
        "Nom;Prénom;Adresse e-mail;Téléphone;Société;Sièges\n"
        "Dupont;Renée;renee@exemple.fr;+33 1 23 45 67 89;Crème & Cie;1.234,5\n"
        "Müller;Jörg;jorg@beispiel.de;;Straße AG;12\n"
    ).encode("cp1252")

    job = await upload_and_read(client, csv, mapping={"Sièges": "custom.seats"})

    assert job["ignored_columns"] == []
    assert await _rows(app) == [
        {
            "row_number": 1,
            "name": "Renée Dupont",
            "email": "renee@exemple.fr",
            "phone": "+33 1 23 45 67 89",
            "company": "Crème & Cie",
            "custom_fields": {"seats": "1234.5"},
        },
        {
            "row_number": 2,
            "name": "Jörg Müller",
            "email": "jorg@beispiel.de",
            "company": "Straße AG",
            "custom_fields": {"seats": "12"},
        },
    ]


async def test_a_utf16_tab_separated_file_excel_unicode_text(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    text = "Name\tE-mail\tTags\nZoë Ångström\tzoe@example.se\tvip;nordic\n"
    await upload_and_read(client, text.encode("utf-16"))  # little-endian with its BOM
    await upload_and_read(client, text.replace("Zoë", "Zoé").encode("utf-16-be"))  # no BOM

    rows = await _rows(app)
    assert [(r["name"], r["email"], r["tags"]) for r in rows] == [
        ("Zoë Ångström", "zoe@example.se", ["vip", "nordic"]),
        ("Zoé Ångström", "zoe@example.se", ["vip", "nordic"]),
    ]


async def test_title_lines_above_the_header_are_skipped(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    csv = b"Contacts export\nGenerated 2026-11-30 by Sales\nname,email\nAda,ada@example.com\n"

    job = await upload_and_read(client, csv)

    assert job["total_rows"] == 1
    assert await _rows(app) == [{"row_number": 1, "name": "Ada", "email": "ada@example.com"}]


async def test_a_chosen_header_row_and_delimiter_win_over_detection(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    csv = b"name|email\nx|y\nname|email\nAda|ada@example.com\n"

    await upload_and_read(client, csv, fields={"header_row": "3", "delimiter": "|"})

    assert await _rows(app) == [{"row_number": 1, "name": "Ada", "email": "ada@example.com"}]


async def test_an_xlsx_with_two_sheets_imports_the_chosen_one(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    book = xlsx(
        {
            "Read me": [["Exported from our shop"], ["do not edit"]],
            "Customers": [
                ["Full Name", "Email Address", "Phone Number", "Orders"],
                ["Ada Lovelace", "ada@example.com", 442079460000, 3.0],
                ["Alan Turing", "alan@example.com", None, 12.5],
            ],
        }
    )

    job = await upload_and_read(
        client,
        book,
        filename="contacts.xlsx",
        fields={"sheet": "Customers"},
        mapping={"Orders": "custom.orders"},
    )

    assert job["total_rows"] == 2
    assert await _rows(app) == [
        {
            "row_number": 1,
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "phone": "442079460000",
            "custom_fields": {"orders": "3"},
        },
        {
            "row_number": 2,
            "name": "Alan Turing",
            "email": "alan@example.com",
            "custom_fields": {"orders": "12.5"},
        },
    ]


async def test_an_xlsx_sheet_that_does_not_exist_is_named_with_the_sheets(
    client: httpx.AsyncClient,
) -> None:
    book = xlsx({"Customers": [["name"], ["Ada"]]})

    response = await upload(client, book, filename="c.xlsx", fields={"sheet": "Clients"})

    assert response.status_code == 422, response.text
    assert "no sheet named 'Clients'" in response.json()["detail"]
    assert "Customers" in response.json()["detail"]


async def test_the_seed_sample_csv_sends_both_rows(client: httpx.AsyncClient, app: FastAPI) -> None:
    # /work/shared/seed/contacts.md: the contacts service imports both, the second with a phone
    # warning (tests/contacts/entrypoints/test_consumers_import_warnings.py).
    csv = (
        b"name,email,phone,company\n"
        b"John Doe,john@example.com,+1234567890,Acme Inc\n"
        b"Jane Smith,jane@example.com,+0987654321,Tech Corp\n"
    )
    job = await upload_and_read(client, csv)

    assert job["failed"] == 0
    assert [r["phone"] for r in await _rows(app)] == ["+1234567890", "+0987654321"]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def test_a_zip_bomb_and_an_entity_expansion_are_refused_within_50_mb(
    client: httpx.AsyncClient,
) -> None:
    bomb, laughs = zip_bomb(64), entity_expansion()
    before = _peak_rss_mb()

    bombed = await upload(client, bomb, filename="bomb.xlsx")
    laughed = await upload(client, laughs, filename="laughs.xlsx")

    grown = _peak_rss_mb() - before
    assert bombed.status_code == 422, bombed.text
    assert "zip bomb" in bombed.json()["detail"]
    assert laughed.status_code == 422, laughed.text
    assert "entity expansion" in laughed.json()["detail"]
    assert grown < 50, f"the importer's peak RSS grew by {grown:.0f} MB"
    listed = await client.get("/v1/imports/none", headers=auth())
    assert listed.status_code == 404
