"""Which CSV column feeds which contact field: parsing the `mapping` form field and the header."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from crm_importer.domain.fields import IMPORT_FIELDS, is_import_field
from crm_shared.problems import BadRequest, Unprocessable

ColumnMapping = dict[str, str | None]
_FIELDS_HINT = f"{', '.join(IMPORT_FIELDS)} or custom.<key>"


class MappedColumn(BaseModel):
    """A column (by position) and the contact field its cells go to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int
    header: str
    field: str


class ColumnPlan(BaseModel):
    """How every row of a file is mapped: its expected width and the mapped columns."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    width: int
    columns: list[MappedColumn]
    ignored_columns: list[str]

    def as_mapping(self) -> dict[str, str]:
        """The resolved mapping, column header -> field."""
        return {c.header: c.field for c in self.columns}


def parse_mapping(raw: str | None) -> ColumnMapping | None:
    """Parse the `mapping` form field: a JSON object of column header -> field (or null/"")."""
    if raw is None or not raw.strip():
        return None
    try:
        value: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"mapping is not valid JSON: {exc}", extra={"field": "mapping"}) from exc
    if not isinstance(value, dict):
        raise Unprocessable(
            "mapping must be a JSON object of column header -> field", extra={"field": "mapping"}
        )
    for column, target in value.items():
        if target is not None and not isinstance(target, str):
            raise Unprocessable(
                f"mapping for column '{column}' must be a field name, \"\" or null",
                extra={"field": "mapping"},
            )
    return value


def _canonical(name: str) -> str:
    return name.strip().casefold()


def _default_field(header: str) -> str | None:
    """The field a header maps to by name: case-insensitive, after stripping."""
    name = _canonical(header)
    return name if is_import_field(name) else None


def _check_duplicates(header: list[str]) -> None:
    seen: dict[str, str] = {}
    for cell in header:
        canonical = _canonical(cell)
        if not canonical:
            continue
        if canonical in seen:
            raise Unprocessable(
                f"the header row names column '{cell.strip()}' more than once "
                f"(column names are compared ignoring case); rename one of them",
                extra={"column": cell.strip()},
            )
        seen[canonical] = cell


def _explicit_targets(header: list[str], mapping: ColumnMapping) -> dict[str, str | None]:
    """The mapping keyed by canonical column name, checked against the header and the fields."""
    present = {_canonical(cell) for cell in header}
    targets: dict[str, str | None] = {}
    for column, target in mapping.items():
        if _canonical(column) not in present:
            raise Unprocessable(
                f"mapping names column '{column}', which is not in the file's header row",
                extra={"field": "mapping", "column": column},
            )
        field = (target or "").strip()
        if field.casefold() in IMPORT_FIELDS:
            field = field.casefold()
        if field and not is_import_field(field):
            raise Unprocessable(
                f"mapping maps column '{column}' to unknown field '{target}'; "
                f"fields are {_FIELDS_HINT} (key: lower-case letters, digits, underscores)",
                extra={"field": "mapping", "column": column},
            )
        targets[_canonical(column)] = field or None
    return targets


def plan_columns(header: list[str], mapping: ColumnMapping | None) -> ColumnPlan:
    """Resolve every header cell to a field (explicit mapping first, then by name) or ignore it."""
    _check_duplicates(header)
    explicit = _explicit_targets(header, mapping or {})
    columns: list[MappedColumn] = []
    ignored: list[str] = []
    used: dict[str, str] = {}
    for index, cell in enumerate(header):
        name = cell.strip()
        canonical = _canonical(cell)
        field = explicit[canonical] if canonical in explicit else _default_field(cell)
        if field is None:
            if canonical not in explicit:
                ignored.append(name or f"(column {index + 1}, no header)")
            continue
        if field in used:
            raise Unprocessable(
                f"columns '{used[field]}' and '{name}' both map to '{field}'; "
                "map one of them to null in mapping",
                extra={"field": "mapping"},
            )
        used[field] = name
        columns.append(MappedColumn(index=index, header=name, field=field))
    if not columns:
        raise Unprocessable(
            f"no column maps to a contact field; name the columns {_FIELDS_HINT}, or send a "
            "mapping of column header -> field",
            extra={"ignored_columns": ignored},
        )
    return ColumnPlan(width=len(header), columns=columns, ignored_columns=ignored)
