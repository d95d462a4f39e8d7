"""The data-subject access request (GDPR Art. 15): its command, sections and CSV rendering."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from crm_gdpr.domain.erasure import Selector
from crm_shared.contact_fields import PUBLIC_FIELDS

# What a bundle holds; the audit entry of an export names these sections, never their content.
EXPORT_SECTIONS: tuple[str, ...] = (
    "contact",
    "records",
    "custom_fields",
    "tags",
    "campaigns",
    "timeline",
    "consents",
    "import_rows",
    "audit",
)


class ExportSubjectData(BaseModel):
    """Command: gather everything held about a person (every record) for an access request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    selector: Selector = "contact_id"
    contact_ids: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()


def contact_section(contact: Mapping[str, Any]) -> dict[str, Any]:
    """The contact's fields a bundle holds: the public ones of the shared table, as sent."""
    return {name: contact[name] for name in PUBLIC_FIELDS if name in contact}


def per_record(records: Sequence[Mapping[str, Any]], field: str) -> list[dict[str, Any]]:
    """One row per value of a list (or map) field of each record's profile."""
    rows: list[dict[str, Any]] = []
    for record in records:
        profile = record.get("profile") or {}
        value = profile.get(field)
        if isinstance(value, Mapping):
            rows += [{"contact_id": record["id"], "key": k, "value": v} for k, v in value.items()]
        elif isinstance(value, list):
            rows += [{"contact_id": record["id"], "value": v} for v in value]
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    # A spreadsheet runs a cell starting with these as a formula: quote it as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def section_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """A section as CSV: one column per key seen (first-seen order), nested values as JSON."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return out.getvalue()
