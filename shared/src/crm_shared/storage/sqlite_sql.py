"""SQL of the SQLite adapter: table names, field expressions and the typed conditions.

Every condition becomes SQL with bound parameters; field paths are checked to be plain dotted
identifiers, so nothing a caller passes is ever spliced into a statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from crm_shared.storage.port import (
    Contains,
    ContainsAny,
    Eq,
    In,
    Not,
    Range,
    TextMatch,
    Where,
)
from crm_shared.storage.sqlite_ids import stored_id
from crm_shared.storage.sqlite_keys import NO_KEYS, KeyMap
from crm_shared.storage.sqlite_multi import MultiValueIndexes
from crm_shared.storage.sqlite_stamps import param, range_param


def table_name(collection: str) -> str:
    """The table of a collection."""
    return f"c_{collection}"


def field_expr(path: str, keys: KeyMap = NO_KEYS) -> str:
    """The SQL expression reading a document field (id and tenant are columns)."""
    if path == "id":
        return "id"
    if path == "tenant":
        return "tenant"
    return keys.value_sql(path)


def bind(value: Any) -> Any:
    """A Python value as SQLite compares it with what json_extract returns."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    return value


def bound(path: str, value: Any, keys: KeyMap = NO_KEYS) -> Any:
    """`bind`, but as the field stores it: ids (sqlite_ids.py), timestamps (sqlite_stamps.py)."""
    if path == "id":
        return stored_id(value)
    return param(value) if path in keys.stamps else bind(value)


def condition_sql(
    cond: Where,
    params: list[Any],
    multi: MultiValueIndexes | None = None,
    tenant: str | None = None,
    keys: KeyMap = NO_KEYS,
) -> str:
    """The SQL test of one condition, appending its parameters to `params`.

    The side table (`multi`) answers Contains and ContainsAny for the tenant's documents.
    """
    if (
        multi is not None
        and tenant is not None
        and (probe := multi.probe(cond, params, bind, tenant)) is not None
    ):
        return probe
    match cond:
        case Eq(field=path, value=None):
            return f"{field_expr(path, keys)} IS NULL"
        case Eq(field=path, value=value):
            params.append(bound(path, value, keys))
            return f"{field_expr(path, keys)} = ?"
        case In(field=path, values=values):
            present = [v for v in values if v is not None]
            parts = [f"{field_expr(path, keys)} IS NULL"] if len(present) < len(values) else []
            if present:
                params.extend(bound(path, v, keys) for v in present)
                parts.append(f"{field_expr(path, keys)} IN ({', '.join('?' for _ in present)})")
            return f"({' OR '.join(parts)})" if parts else "0"
        case Contains(field=path, value=value):
            params.append(bind(value))
            return (
                f"EXISTS (SELECT 1 FROM json_each({keys.each_sql(path)}) AS je WHERE je.value = ?)"
            )
        case ContainsAny(field=path, values=values):
            if not values:
                return "0"
            params.extend(bind(v) for v in values)
            return (
                f"EXISTS (SELECT 1 FROM json_each({keys.each_sql(path)}) AS je "
                f"WHERE je.value IN ({', '.join('?' for _ in values)}))"
            )
        case Not(condition=inner):
            # A missing field makes the inner test NULL; its negation must then be true.
            return f"NOT COALESCE(({condition_sql(inner, params, multi, tenant, keys)}), 0)"
        case TextMatch(field=path):
            # instr, not LIKE: LIKE ignores ASCII case and needs wildcard escaping. Checked even
            # where a text index selected the rows: it serves only words of 3+ characters.
            if not cond.words:
                return f"typeof({field_expr(path, keys)}) = 'text'"
            if (check := keys.text_check_sql(path)) is not None:  # a derived text: one call
                params.append(orjson.dumps(cond.words).decode())
                return check
            params.extend(cond.words)
            return " AND ".join(f"instr({field_expr(path, keys)}, ?) > 0" for _ in cond.words)
        case Range(field=path, gte=gte, lte=lte, gt=gt, lt=lt):
            parts = []
            for op, limit in ((">=", gte), ("<=", lte), (">", gt), ("<", lt)):
                if limit is None:
                    continue
                if path in keys.stamps:
                    op, limit = range_param(op, limit)
                    params.append(limit)
                else:
                    params.append(bound(path, limit))
                parts.append(f"{field_expr(path, keys)} {op} ?")
            return " AND ".join(parts) or "1"
    raise TypeError(f"unsupported condition {cond!r}")


def where_sql(
    tenant: str,
    where: Sequence[Where],
    params: list[Any],
    multi: MultiValueIndexes | None = None,
    keys: KeyMap = NO_KEYS,
    *,
    code: int | None,
) -> str:
    """The WHERE clause of a tenant's documents matching every condition: the rows hold the
    tenant's `code` (sqlite_tenants.py; None for a tenant without one: no row matches), the
    side table's keys its name."""
    params.append(code)
    clauses = ["tenant = ?"]
    clauses.extend(condition_sql(cond, params, multi, tenant, keys) for cond in where)
    return " AND ".join(clauses)
