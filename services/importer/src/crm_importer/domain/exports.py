"""The export job and how a contact becomes one row of the chosen fields (CSV or .xlsx)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict

from crm_importer.domain.cells import neutralize_column
from crm_importer.domain.fields import custom_key
from crm_shared.contact_fields import FIELDS_BY_NAME
from crm_shared.events import ExportCompleted
from crm_shared.filters import ContactFilter

ExportStatus = Literal["queued", "running", "completed", "failed", "expired"]
ExportFormat = Literal["csv", "xlsx"]
# Standard fields holding a list of values: one cell, the values joined by ';' (as tags import).
_LIST_FIELDS = frozenset(name for name, f in FIELDS_BY_NAME.items() if f.shape == "list")
INTERRUPTED = "interrupted by a restart; run it again"
ERASED = "removed after an erasure request"


class ExportJob(BaseModel):
    """One export; `pending_erasures` holds contacts erased while it was still running.

    `bom` starts a CSV with a UTF-8 byte order mark, which Excel needs to read it as UTF-8.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    tenant: str
    actor: str | None = None
    status: ExportStatus = "queued"
    fields: list[str]
    filter: ContactFilter = ContactFilter()
    format: ExportFormat = "csv"
    bom: bool = False
    rows: int = 0
    created_at: str
    finished_at: str | None = None
    error: str | None = None
    pending_erasures: list[str] = []

    @property
    def active(self) -> bool:
        """True while the export may still write its file."""
        return self.status in ("queued", "running")

    def complete(self, rows: int, now: str) -> None:
        """The file is written."""
        self.status = "completed"
        self.rows = rows
        self.finished_at = now

    def fail(self, reason: str, now: str) -> None:
        """The export stopped without a file."""
        self.status = "failed"
        self.error = reason
        self.finished_at = now

    def expire(self, now: str) -> None:
        """The file was deleted because it contained a person who asked to be erased."""
        self.status = "expired"
        self.error = ERASED
        self.finished_at = self.finished_at or now

    def completed_event(self) -> ExportCompleted:
        """The event announcing the finished export."""
        return ExportCompleted(export_id=self.id, fields=self.fields, rows=self.rows)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if value.__class__ is int:  # not bool: JSON spells those true/false
        return str(value)  # as JSON writes it, without the call into orjson
    return orjson.dumps(value).decode()


def _texts(values: list[Any]) -> list[str]:
    """Cell texts: strings as they are, null empty, other values as JSON."""
    return [v if v.__class__ is str else _text(v) for v in values]


def _joined(value: Any) -> str:
    if isinstance(value, list):
        return ";".join(item if isinstance(item, str) else str(item) for item in value)
    return _text(value)


# A column's cells for a chunk of contacts, given the contacts and their `custom_fields`.
ColumnReader = Callable[[list[dict[str, Any]], list[Any]], list[str]]


def _custom_column(key: str) -> ColumnReader:
    def read(contacts: list[dict[str, Any]], customs: list[Any]) -> list[str]:
        return _texts([c.get(key) if c.__class__ is dict else None for c in customs])

    return read


def _list_column(field: str) -> ColumnReader:
    def read(contacts: list[dict[str, Any]], customs: list[Any]) -> list[str]:
        values = [c.get(field) for c in contacts]
        try:
            return [";".join(v) if v.__class__ is list else _text(v) for v in values]
        except TypeError:  # a list holding something other than text: item by item
            return [_joined(v) for v in values]

    return read


def _plain_column(field: str) -> ColumnReader:
    def read(contacts: list[dict[str, Any]], customs: list[Any]) -> list[str]:
        return _texts([c.get(field) for c in contacts])

    return read


def _column_reader(field: str) -> ColumnReader:
    key = custom_key(field)
    if key is not None:
        return _custom_column(key)
    return _list_column(field) if field in _LIST_FIELDS else _plain_column(field)


class RowFormat:
    """How contacts become rows of the chosen fields, worked out once per export (a million
    contacts would otherwise decide each field's kind a million times).

    A chunk of contacts is read column by column: each cell costs a step of a list
    comprehension instead of a Python call, most of an export's own work per contact.
    """

    def __init__(self, fields: list[str]) -> None:
        if not fields:
            raise ValueError("an export lists at least one field")
        self._columns = tuple(_column_reader(field) for field in fields)
        self._custom = any(custom_key(field) is not None for field in fields)

    def row(self, contact: dict[str, Any]) -> list[str]:
        """The contact's values for the fields, safe to open in a spreadsheet.

        Lists of a standard field (tags, emails, phones, campaigns) are joined by ';'; custom
        lists and numbers are JSON; a cell a spreadsheet would run as a formula is neutralized.
        """
        return list(self.rows([contact])[0])

    def rows(self, contacts: list[dict[str, Any]]) -> list[tuple[str, ...]]:
        """`row` of each contact, in order."""
        return list(zip(*self.columns(contacts), strict=True))

    def columns(self, contacts: list[dict[str, Any]]) -> list[list[str]]:
        """The contacts' cells field by field: one list per field, a cell per contact."""
        customs = [c.get("custom_fields") for c in contacts] if self._custom else []
        return [neutralize_column(read(contacts, customs)) for read in self._columns]


def contact_row(contact: dict[str, Any], fields: list[str]) -> list[str]:
    """The contact's values for the chosen fields (`RowFormat.row`), for a single contact."""
    return RowFormat(fields).row(contact)
