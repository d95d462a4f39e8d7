"""The export job and how a contact becomes one row of the chosen fields (CSV or .xlsx)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict

from crm_importer.domain.cells import FORMULA_STARTS, neutralize
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
    return orjson.dumps(value).decode()


CellReader = Callable[[dict[str, Any]], str]


def _custom_cell(key: str) -> CellReader:
    def read(contact: dict[str, Any]) -> str:
        custom = contact.get("custom_fields")
        return _text(custom.get(key)) if isinstance(custom, dict) else ""

    return read


def _list_cell(field: str) -> CellReader:
    def read(contact: dict[str, Any]) -> str:
        value = contact.get(field)
        if isinstance(value, list):
            return ";".join(item if isinstance(item, str) else str(item) for item in value)
        return _text(value)

    return read


def _plain_cell(field: str) -> CellReader:
    def read(contact: dict[str, Any]) -> str:
        value = contact.get(field)
        return value if isinstance(value, str) else _text(value)

    return read


def _cell_reader(field: str) -> CellReader:
    key = custom_key(field)
    if key is not None:
        return _custom_cell(key)
    return _list_cell(field) if field in _LIST_FIELDS else _plain_cell(field)


class RowFormat:
    """How contacts become rows of the chosen fields, worked out once per export (a million
    contacts would otherwise decide each field's kind a million times)."""

    def __init__(self, fields: list[str]) -> None:
        self._readers = tuple(_cell_reader(field) for field in fields)

    def row(self, contact: dict[str, Any]) -> list[str]:
        """The contact's values for the fields, safe to open in a spreadsheet.

        Lists of a standard field (tags, emails, phones, campaigns) are joined by ';'; custom
        lists and numbers are JSON; a cell a spreadsheet would run as a formula is neutralized.
        """
        cells = [read(contact) for read in self._readers]
        # Most cells start with no formula character: only those go through `neutralize`.
        return [neutralize(c) if c.startswith(FORMULA_STARTS) else c for c in cells]

    def rows(self, contacts: list[dict[str, Any]]) -> list[list[str]]:
        """`row` of each contact (the per-contact loop of an export, kept in one frame)."""
        readers, starts = self._readers, FORMULA_STARTS
        out: list[list[str]] = []
        append = out.append
        for contact in contacts:
            cells = [read(contact) for read in readers]
            append([neutralize(c) if c.startswith(starts) else c for c in cells])
        return out


def contact_row(contact: dict[str, Any], fields: list[str]) -> list[str]:
    """The contact's values for the chosen fields (`RowFormat.row`), for a single contact."""
    return RowFormat(fields).row(contact)
