"""One CSV record -> an ImportRow for the contacts service, or a failure the importer reports.

Runs once per row of files up to a million rows: plain code, no per-row validation model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crm_importer.domain.fields import (
    CUSTOM_PREFIX,
    IMPORT_FIELDS,
    LIST_IMPORT_FIELDS,
    external_system,
)
from crm_importer.domain.mapping import ColumnPlan
from crm_importer.domain.numbers import from_decimal_comma
from crm_shared.events import ImportRow
from crm_shared.rules import clean_tag_name

# Bytes that are not UTF-8 arrive as lone surrogates (errors="surrogateescape").
_SURROGATE = re.compile("[\udc80-\udcff]")
_LIST_SEPARATORS = re.compile(r"[;,]")
_EMAIL_SEPARATORS = re.compile(r"[;,\n]")
_PHONE_SEPARATORS = re.compile(r"[;\n]")
_CONTROL = re.compile(r"[\x00-\x1f]")
_PLAIN_FIELDS = frozenset(IMPORT_FIELDS) - LIST_IMPORT_FIELDS
# JSON overhead per mapped cell in a batch ("field":"...",), used to bound a batch's size.
_CELL_OVERHEAD = 16
_ROW_OVERHEAD = 48


@dataclass(frozen=True, slots=True)
class RowFailure:
    """A row the importer rejects itself (encoding, cell count, CSV syntax, size)."""

    row_number: int
    reason: str
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class MappedRow:
    """A row ready for a batch in its JSON form (`row_json`), with an estimate of its size in
    the batch's JSON."""

    values: dict[str, Any]
    size: int

    @property
    def row(self) -> ImportRow:
        """The row as its model (previews and dry runs; a batch sends `values` as they are)."""
        return ImportRow.model_validate(self.values)


def _empty_value(default: object) -> Callable[[], Any]:
    # A fresh container per row (a shared one could be changed through any row holding it).
    if default is None:
        return lambda: None
    if default == []:
        return list
    if default == {}:
        return dict
    raise TypeError(f"ImportRow default {default!r} has no JSON form here")


# ImportRow's optional fields in its order, each with a maker of its default.
_ROW_DEFAULTS = tuple(
    (name, _empty_value(field.default))
    for name, field in ImportRow.model_fields.items()
    if name != "row_number"
)


def row_json(values: dict[str, Any]) -> dict[str, Any]:
    """A row's JSON form from the fields it has: what `ImportRow(**values).model_dump(mode=
    "json")` gives (every field, in the model's order) for the text the mapper makes, without
    validating or deep-copying defaults per row (tests/importer/domain/test_batch_payload.py)."""
    row = {"row_number": values["row_number"]}
    for name, empty in _ROW_DEFAULTS:
        row[name] = values[name] if name in values else empty()
    return row


def _json_size(text: str) -> int:
    """An upper bound of the text's size once JSON-encoded in a batch (UTF-8, escapes, tags).

    Raises UnicodeEncodeError if the text holds bytes that were not UTF-8.
    """
    size = len(text.encode())
    size += text.count('"') + text.count("\\")  # escaped with a backslash
    size += 3 * (text.count(";") + text.count(","))  # a tag separator becomes '","'
    if _CONTROL.search(text):
        size += 5 * len(_CONTROL.findall(text))  # \u00XX
    return size


def readable(cell: str) -> str:
    """Show undecodable bytes as Latin-1 characters (the usual culprit), keep valid UTF-8 text."""
    return _SURROGATE.sub(lambda m: chr(ord(m.group()) - 0xDC00), cell)


def has_undecodable_bytes(cells: list[str]) -> bool:
    """True if a cell holds bytes that were not valid UTF-8."""
    return any(_SURROGATE.search(cell) for cell in cells)


def split_tags(value: str) -> list[str]:
    """Tags from one cell, separated by ';' or ',' and cleaned like tag names; blanks dropped."""
    return [tag for tag in map(clean_tag_name, _LIST_SEPARATORS.split(value)) if tag]


def split_emails(value: str) -> list[str]:
    """Addresses from one cell, separated by ';', ',' or a line break; blanks dropped."""
    return [item for item in map(str.strip, _EMAIL_SEPARATORS.split(value)) if item]


def split_phones(value: str) -> list[str]:
    """Phones from one cell, separated by ';' or a line break (a comma may sit in a number)."""
    return [item for item in map(str.strip, _PHONE_SEPARATORS.split(value)) if item]


# How a cell of each list field splits into values.
LIST_SPLITTERS: dict[str, Callable[[str], list[str]]] = {
    "tags": split_tags,
    "emails": split_emails,
    "phones": split_phones,
}


class RowMapper:
    """Maps the cells of one record to an ImportRow following a column plan."""

    def __init__(self, plan: ColumnPlan, *, max_row_bytes: int) -> None:
        self._width = plan.width
        self._columns = [(c.index, c.header, c.field) for c in plan.columns]
        self._max_row_bytes = max_row_bytes
        by_field = plan.by_field()
        # Split once by kind, so the per-row loop does no string tests on field names.
        self._plain = [
            (ix[0], f) for f, ix in by_field.items() if f in _PLAIN_FIELDS and len(ix) == 1
        ]
        # Several columns for one text field (first and last name): joined with a space.
        self._joined = [(ix, f) for f, ix in by_field.items() if f in _PLAIN_FIELDS and len(ix) > 1]
        # List fields (tags, additional emails and phones) list several values in one cell.
        self._lists = [(i, f) for i, _, f in self._columns if f in LIST_IMPORT_FIELDS]
        self._custom = [
            (i, f[len(CUSTOM_PREFIX) :]) for i, _, f in self._columns if f.startswith(CUSTOM_PREFIX)
        ]
        external = plan.external_column()
        # (column index, system) of the column holding each person's id in another system.
        self._external = (
            (external.index, external_system(external.field) or "") if external else None
        )
        # `;`-separated files write 3,5 for 3.5: cells of number fields are rewritten (a text
        # field's "12,5" stays as written).
        self._decimal_comma_keys = frozenset(plan.number_fields) if plan.decimal_comma else None

    def failure_values(self, cells: list[str]) -> dict[str, str]:
        """The mapped columns' cells of a failed row, for the error report (only mapped data)."""
        return {
            header: readable(cells[index])
            for index, header, _ in self._columns
            if index < len(cells) and cells[index]
        }

    def map(self, row_number: int, cells: list[str]) -> MappedRow | RowFailure | None:
        """Map one record: None for a blank one; the wrong width or bad bytes make a failure."""
        joined = "".join(cells)
        if not joined.strip():
            return None
        if len(cells) != self._width:
            return RowFailure(
                row_number,
                f"row {row_number} has {len(cells)} cells but the header has {self._width}",
                self.failure_values(cells),
            )
        try:
            size = _json_size(joined)
        except UnicodeEncodeError:
            return RowFailure(
                row_number,
                f"row {row_number} is not valid UTF-8 (wrong file encoding?)",
                self.failure_values(cells),
            )
        size += _ROW_OVERHEAD + _CELL_OVERHEAD * len(self._columns)
        if size > self._max_row_bytes:
            return RowFailure(
                row_number,
                f"row {row_number} is too large ({size} bytes; at most {self._max_row_bytes})",
                {},
            )
        return MappedRow(self._build(row_number, cells), size)

    def _build(self, row_number: int, cells: list[str]) -> dict[str, Any]:
        values: dict[str, Any] = {"row_number": row_number}
        for index, field in self._plain:
            value = cells[index].strip()
            if value:
                values[field] = value
        for indexes, field in self._joined:
            joined = " ".join(part for i in indexes if (part := cells[i].strip()))
            if joined:
                values[field] = joined
        for index, field in self._lists:
            values.setdefault(field, []).extend(LIST_SPLITTERS[field](cells[index]))
        custom = {key: value for index, key in self._custom if (value := cells[index].strip())}
        if custom and self._decimal_comma_keys:
            numbers = self._decimal_comma_keys
            custom = {
                key: from_decimal_comma(value) if key in numbers else value
                for key, value in custom.items()
            }
        if custom:
            values["custom_fields"] = custom
        if self._external is not None:
            index, system = self._external
            if external_id := cells[index].strip():
                values["external_ids"] = {system: external_id}
        return row_json(values)
