"""Which column feeds which contact field: the `mapping` form field, the header, suggestions."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from crm_importer.domain.fields import (
    CUSTOM_PREFIX,
    IMPORT_FIELDS,
    external_system,
    is_import_field,
)
from crm_importer.domain.suggestions import NAME_PARTS, Suggestion, suggest
from crm_shared.problems import BadRequest, Unprocessable

ColumnMapping = dict[str, str | None]
_FIELDS_HINT = f"{', '.join(IMPORT_FIELDS)}, custom.<key> or external_ids.<system>"
# Fields several columns may feed: name parts are joined, list values are added up.
MULTI_COLUMN_FIELDS = frozenset({"name", "emails", "phones", "tags"})
# Where a second email or phone column goes.
ADDITIONAL = {"email": "emails", "phone": "phones"}
# A row must be able to name someone: a plan maps at least one of these.
IDENTIFYING_FIELDS = ("name", "email")
# Types a mapping may give a custom field it creates (`custom.<key>:<type>`); dropdowns and
# multi-selects need their options defined first.
DECLARABLE_TYPES = ("text", "number", "date", "boolean", "url", "email")


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
    # The file writes 3,5 for 3.5 (it is `;`-separated): cells of the number fields below
    # holding such numbers are sent with a decimal point.
    decimal_comma: bool = False
    # Keys of the custom fields mapped here that hold numbers (from the tenant's definitions).
    number_fields: list[str] = []
    # Types the mapping gave new custom fields (`custom.<key>:<type>`), key -> type.
    declared_types: dict[str, str] = {}

    def as_mapping(self) -> dict[str, str]:
        """The resolved mapping, column header -> field."""
        return {c.header: c.field for c in self.columns}

    def external_column(self) -> MappedColumn | None:
        """The column holding each person's id in another system, if one is mapped."""
        return next((c for c in self.columns if external_system(c.field)), None)

    def by_field(self) -> dict[str, list[int]]:
        """Column indexes per field, in the order their cells are combined."""
        fields: dict[str, list[int]] = {}
        for column in self.columns:
            fields.setdefault(column.field, []).append(column.index)
        return fields


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


def split_declared_types(mapping: ColumnMapping) -> tuple[ColumnMapping, dict[str, str]]:
    """The mapping without `:<type>` suffixes of custom fields, and those types by key."""
    plain: ColumnMapping = {}
    types: dict[str, str] = {}
    for column, target in mapping.items():
        field, colon, declared = (target or "").partition(":")
        if not colon or not field.strip().startswith(CUSTOM_PREFIX):
            plain[column] = target
            continue
        declared = declared.strip().casefold()
        if declared not in DECLARABLE_TYPES:
            raise Unprocessable(
                f"mapping gives column '{column}' the type '{declared}'; a new custom field may "
                f"be {', '.join(DECLARABLE_TYPES)}",
                extra={"field": "mapping", "column": column},
            )
        plain[column] = field.strip()
        types[field.strip()[len(CUSTOM_PREFIX) :]] = declared
    return plain, types


def _canonical(name: str) -> str:
    return name.strip().casefold()


def _duplicated(header: list[str]) -> set[str]:
    """Canonical names of the header cells that appear more than once."""
    seen: set[str] = set()
    repeated: set[str] = set()
    for cell in header:
        canonical = _canonical(cell)
        if canonical and canonical in seen:
            repeated.add(canonical)
        seen.add(canonical)
    return repeated


def _explicit_targets(header: list[str], mapping: ColumnMapping) -> dict[str, str | None]:
    """The mapping keyed by canonical column name, checked against the header and the fields."""
    present = {_canonical(cell) for cell in header}
    repeated = _duplicated(header)
    targets: dict[str, str | None] = {}
    for column, target in mapping.items():
        canonical = _canonical(column)
        if canonical not in present:
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
        if field and canonical in repeated:
            raise _duplicate_used(column)
        targets[canonical] = field or None
    return targets


def _duplicate_used(column: str) -> Unprocessable:
    return Unprocessable(
        f"the header row names column '{column.strip()}' more than once (column names are "
        "compared ignoring case) and that column is mapped; rename one of them",
        extra={"column": column.strip()},
    )


def _suggested(header: list[str], samples: list[list[str]] | None) -> list[Suggestion | None]:
    return suggest(header, samples or [[] for _ in header])


def _ordered(columns: list[MappedColumn], parts: dict[int, str]) -> list[MappedColumn]:
    """Name parts in first, middle, last order (the order their cells are joined in)."""
    rank = {part: n for n, part in enumerate(NAME_PARTS)}
    return sorted(
        columns,
        key=lambda c: (c.field != "name", rank.get(parts.get(c.index, ""), -1), c.index),
    )


def plan_columns(
    header: list[str],
    mapping: ColumnMapping | None,
    samples: list[list[str]] | None = None,
) -> ColumnPlan:
    """Resolve every header cell to a field: the explicit mapping first, then the suggestion
    from its name (in several languages and CRM exports) or its sample values, else ignore it.

    Several columns may feed `name` (joined with spaces), `emails`, `phones` and `tags`. A custom
    field may be given the type it is created with (`custom.<key>:number`, see create_fields).
    """
    mapping, declared_types = split_declared_types(mapping or {})
    explicit = _explicit_targets(header, mapping)
    suggestions = _suggested(header, samples)
    repeated = _duplicated(header)
    chosen: list[tuple[int, str, str]] = []
    parts: dict[int, str] = {}
    ignored: list[str] = []
    for index, cell in enumerate(header):
        name, canonical = cell.strip(), _canonical(cell)
        if canonical in explicit:
            if explicit[canonical] is not None:
                chosen.append((index, name, explicit[canonical] or ""))
            continue
        suggestion = suggestions[index]
        if suggestion is None:
            ignored.append(name or f"(column {index + 1}, no header)")
            continue
        if canonical in repeated:
            raise _duplicate_used(cell)
        chosen.append((index, name, suggestion.field))
        if suggestion.part is not None:
            parts[index] = suggestion.part
    columns = _resolve_clashes(chosen, explicit_indexes=_explicit_indexes(header, explicit))
    externals = [c.header for c in columns if external_system(c.field)]
    if len(externals) > 1:
        raise Unprocessable(
            f"columns '{externals[0]}' and '{externals[1]}' both hold external ids; an import "
            "takes the ids of one system (map the others to null)",
            extra={"field": "mapping"},
        )
    if not columns:
        raise Unprocessable(
            f"no column maps to a contact field; name the columns {_FIELDS_HINT}, or send a "
            "mapping of column header -> field",
            extra={"ignored_columns": ignored},
        )
    if not any(c.field in IDENTIFYING_FIELDS for c in columns):
        raise Unprocessable(
            "no column maps to name or email, so no row could name anyone; map a name column "
            "(several, such as first and last name, are joined) or an email column",
            extra={"field": "mapping", "mapping": {c.header: c.field for c in columns}},
        )
    return ColumnPlan(
        width=len(header),
        columns=_ordered(columns, parts),
        ignored_columns=ignored,
        declared_types=declared_types,
    )


def check_match_on(plan: ColumnPlan, match_on: list[str]) -> None:
    """422 when `match_on` names the external id and no column holds one."""
    if "external_id" in match_on and plan.external_column() is None:
        raise Unprocessable(
            "match_on names external_id, but no column maps to an external id; map the column "
            "holding each person's id in the other system to external_ids.<system> (for "
            'example {"Record ID": "external_ids.hubspot"})',
            extra={"field": "match_on"},
        )


def _explicit_indexes(header: list[str], explicit: dict[str, str | None]) -> set[int]:
    return {i for i, cell in enumerate(header) if _canonical(cell) in explicit}


def _resolve_clashes(
    chosen: list[tuple[int, str, str]], *, explicit_indexes: set[int]
) -> list[MappedColumn]:
    """One column per single-value field: two explicit ones are refused; a suggested one gives
    way to an explicit one (an extra email or phone becomes an additional one)."""
    columns: list[MappedColumn] = []
    used: dict[str, tuple[str, bool]] = {}
    for index, header, field in sorted(chosen, key=lambda c: c[0] not in explicit_indexes):
        explicit = index in explicit_indexes
        if field in MULTI_COLUMN_FIELDS:
            columns.append(MappedColumn(index=index, header=header, field=field))
            continue
        if field in used:
            if explicit and used[field][1]:
                raise Unprocessable(
                    f"columns '{used[field][0]}' and '{header}' both map to '{field}'; "
                    "map one of them to null in mapping",
                    extra={"field": "mapping"},
                )
            extra = ADDITIONAL.get(field)
            if extra is not None:
                columns.append(MappedColumn(index=index, header=header, field=extra))
            continue
        used[field] = (header, explicit)
        columns.append(MappedColumn(index=index, header=header, field=field))
    return sorted(columns, key=lambda c: c.index)
