"""Delimiter and header-row detection, decimal commas, column suggestions."""

from __future__ import annotations

import pytest

from crm_importer.domain.dialect import detect_delimiter, detect_header_row, parse_sample
from crm_importer.domain.numbers import from_decimal_comma
from crm_importer.domain.suggestions import suggest


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_detected(delimiter: str) -> None:
    text = delimiter.join(["name", "email", "note"]) + "\n"
    text += delimiter.join(["Ada", "ada@x.io", "likes, commas; and | pipes"]) + "\n"
    text = text.replace("likes, commas; and | pipes", '"likes, commas; and | pipes"')
    assert detect_delimiter(text) == delimiter


def test_a_single_column_file_is_comma_separated() -> None:
    assert detect_delimiter("name\nAda\nBo\n") == ","


def test_the_header_is_found_below_title_lines_and_a_blank_line() -> None:
    records = parse_sample("Contacts\nExported 2026\n\nname,email,phone\nAda,a@x.io,1\n", ",")
    assert detect_header_row(records) == 3


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1.234,5", "1234.5"),
        ("12,5", "12.5"),
        ("-0,25", "-0.25"),
        ("1 234,50", "1234.50"),
        ("12", "12"),
        ("a,b", "a,b"),
        ("1,2,3", "1,2,3"),
    ],
)
def test_decimal_commas_become_points(cell: str, expected: str) -> None:
    assert from_decimal_comma(cell) == expected


def _fields(headers: list[str], samples: list[list[str]] | None = None) -> list[str | None]:
    found = suggest(headers, samples or [[] for _ in headers])
    return [None if s is None else s.field for s in found]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            ["Prénom", "Nom", "Courriel", "Téléphone", "Société"],
            ["name", "name", "email", "phone", "company"],
        ),
        (
            ["Vorname", "Nachname", "E-Mail-Adresse", "Telefonnummer", "Firma", "Zeitzone"],
            ["name", "name", "email", "phone", "company", "timezone"],
        ),
        (
            ["Nombre", "Apellidos", "Correo electrónico", "Teléfono móvil", "Empresa"],
            ["name", "name", "email", "phone", "company"],
        ),
        (
            ["Nome", "Cognome", "Indirizzo email", "Cellulare", "Azienda", "Etichette"],
            ["name", "name", "email", "phone", "company", "tags"],
        ),
        (["Nome completo", "E-mail", "Telefone", "Empresa"], ["name", "email", "phone", "company"]),
        (
            ["Voornaam", "Achternaam", "E-mailadres", "Telefoonnummer", "Bedrijf"],
            ["name", "name", "email", "phone", "company"],
        ),
        # Pipedrive people export
        (
            [
                "Person - Name",
                "Person - Email - Work",
                "Person - Email - Home",
                "Person - Phone - Work",
                "Person - Organization",
                "Person - Labels",
            ],
            ["name", "email", "emails", "phone", "company", "tags"],
        ),
        # Zoho CRM contacts export
        (
            ["First Name", "Last Name", "Email", "Secondary Email", "Mobile", "Account Name"],
            ["name", "name", "email", "emails", "phone", "company"],
        ),
        # Google Contacts CSV
        (
            [
                "Name",
                "Given Name",
                "Family Name",
                "E-mail 1 - Value",
                "E-mail 2 - Value",
                "Phone 1 - Value",
                "Organization 1 - Name",
                "Group Membership",
            ],
            ["name", None, None, "email", "emails", "phone", "company", "tags"],
        ),
        # Outlook CSV
        (
            [
                "First Name",
                "Middle Name",
                "Last Name",
                "E-mail Address",
                "E-mail 2 Address",
                "Business Phone",
                "Mobile Phone",
                "Company",
                "Categories",
            ],
            ["name", "name", "name", "email", "emails", "phone", "phones", "company", "tags"],
        ),
    ],
)
def test_headers_of_seven_languages_and_crm_exports_are_suggested(
    headers: list[str], expected: list[str | None]
) -> None:
    assert _fields(headers) == expected


def test_french_nom_alone_is_the_full_name() -> None:
    assert _fields(["Nom", "Courriel"]) == ["name", "email"]


def test_an_unnamed_column_of_addresses_is_an_email_column() -> None:
    found = suggest(["Kontakt", "Col B"], [["Ada", "Bo"], ["ada@x.io", "bo@y.org"]])
    assert found[1] is not None and (found[1].field, found[1].confidence) == ("email", 0.6)
    assert found[0] is None
