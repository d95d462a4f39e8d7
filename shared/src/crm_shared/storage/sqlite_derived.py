"""Derived fields in the SQLite adapter: never in the stored JSON, computed where SQL needs them.

A derived field (derived.py) is indexed from Python on writes (sqlite_multi.py) and left out of
the stored JSON (sqlite_compact.py). SQL reads it, where a query needs it, through the function
`DERIVED_SQL` every connection of the store registers: given a JSON object of only the fields
the function reads (a few dozen bytes, not the whole document to parse), it gives the field's
JSON. A document stored before the field was derived still holds it: `coalesce` takes that
value first, which is what its index entries were made from.

Only a multi-value index or a text index may cover a derived field here (their entries are
written from Python): an expression index or a trigger would call the function on every write
by any program, the sqlite3 shell included, which has no such function.

A text search re-checks each candidate's words on the text (sqlite_text.py). On a derived text
that is one call of `TEXT_HOLDS_SQL` a candidate, given the stored value and the fields the
function reads in one JSON array (one `json_extract` of several paths: the document parsed
once, where `json_object` of `->` parsed it once a field), which derives the text only for a
document that holds none (remembered, as `DERIVED_SQL`'s values) and tests every word.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import aiosqlite
import orjson

from crm_shared.storage.derived import DERIVED_SQL, Derived
from crm_shared.storage.port import CollectionSpec, Contains, ContainsAny, Where
from crm_shared.storage.sqlite_keys import KeyMap


def derived_sql(collection: str, derived: Sequence[Derived], keys: KeyMap) -> dict[str, str]:
    """Per derived field, the SQL giving its JSON text for the stored JSON `{doc}`."""
    sql: dict[str, str] = {}
    for d in derived:
        # Names are checked identifiers (CollectionSpec, check_field): nothing from a caller.
        reads = ", ".join(f"'{name}', {{doc}} -> '{keys.path(name)}'" for name in d.reads)
        computed = f"{DERIVED_SQL}('{collection}', '{d.field}', json_object({reads}))"
        sql[d.field] = f"coalesce({{doc}} -> '{keys.path(d.field)}', {computed})"
    return sql


# The SQL function testing the words of a text search on a derived text: (collection, field,
# words JSON, JSON array of the stored value then the fields the function reads) -> 1 or 0.
TEXT_HOLDS_SQL = "crm_text_holds"


def text_check_sql(collection: str, d: Derived, keys: KeyMap) -> str:
    """The SQL test of a text search's words (one `?`: their JSON list) on the derived text
    field `d` of the stored JSON `{doc}`: its stored value first, as `derived_sql`."""
    paths = ", ".join(f"'{keys.path(name)}'" for name in (d.field, *d.reads))
    return f"{TEXT_HOLDS_SQL}('{collection}', '{d.field}', ?, json_extract({{doc}}, {paths}))"


# Values remembered per store: a re-match round re-checks ~13 holders a contact against their
# match keys (sqlite_multi.py's hashed look-ups), and the holders of common blocks come back
# round after round. ~16k entries of ~300 bytes.
_REMEMBERED = 16_384


class DerivedFunction:
    """The Python side of `DERIVED_SQL`: (collection, field, reads JSON) -> the field's JSON."""

    def __init__(self, derived: Mapping[str, Sequence[Derived]]) -> None:
        self._by_name = {(name, d.field): d for name, ds in derived.items() for d in ds}
        self._remembered = functools.lru_cache(maxsize=_REMEMBERED)(self._compute)
        # Every `q` of a common word walks the newest rows first, so its candidates are mostly
        # the ones the last such query checked (1M contacts: a page of "chlo" p50 5-8 -> 3 ms).
        self._texts = functools.lru_cache(maxsize=_REMEMBERED)(self._text)
        # A query's words, parsed once for all its candidates.
        self._words = functools.lru_cache(maxsize=64)(_words)

    def __call__(self, collection: str, name: str, reads: str | bytes) -> str:
        return self._remembered(collection, name, reads)

    async def register(self, conn: aiosqlite.Connection) -> None:
        """Make `DERIVED_SQL` and `TEXT_HOLDS_SQL` callable on the connection."""
        await conn.create_function(DERIVED_SQL, 3, self, deterministic=True)
        await conn.create_function(TEXT_HOLDS_SQL, 4, self.holds, deterministic=True)

    def holds(self, collection: str, name: str, words: str, values: str | bytes) -> int:
        """`TEXT_HOLDS_SQL`: whether the text holds every word (1 or 0)."""
        text = self._texts(collection, name, values)
        return int(text is not None and all(w in text for w in self._words(words)))

    def _compute(self, collection: str, name: str, reads: str | bytes) -> str:
        value: Any = self._by_name[(collection, name)].derive(orjson.loads(reads))
        return orjson.dumps(value).decode()

    def _text(self, collection: str, name: str, values: str | bytes) -> str | None:
        """The text of a document: the value it holds, else the function's (None: no text)."""
        d = self._by_name[(collection, name)]
        stored, *read = orjson.loads(values)
        text = d.derive(dict(zip(d.reads, read, strict=True))) if stored is None else stored
        return text if isinstance(text, str) else None


def _words(words: str) -> tuple[str, ...]:
    return tuple(orjson.loads(words))


def holds_every(doc: Mapping[str, Any], checks: Sequence[Where]) -> bool:
    """Whether a document's derived lists hold a value of each check (Contains or ContainsAny
    of scalars, as a hashed look-up's candidates are checked): json_each's test, in Python."""
    for check in checks:
        if isinstance(check, Contains):
            wanted = {check.value}
        elif isinstance(check, ContainsAny):
            wanted = set(check.values)
        else:
            raise TypeError(f"not a check of a derived list: {check!r}")
        value = doc.get(check.field)
        items = value if isinstance(value, list) else (value,)
        if not any(type(item) in _SCALARS and item in wanted for item in items):
            return False
    return True


_SCALARS = (str, int, float, bool)


def check_derived_indexes(
    specs: Sequence[CollectionSpec], derived: Mapping[str, Sequence[Derived]]
) -> None:
    """Refuse an index other than a multi-value or text one on a derived field (see the
    module's doc)."""
    for spec in specs:
        names = {d.field for d in derived.get(spec.name, ())}
        for index in spec.indexes:
            if (
                index.multi_value is None
                and not index.text
                and any(f.partition(".")[0] in names for f in index.fields)
            ):
                raise ValueError(
                    f"{spec.name}.{index.name}: a derived field has multi-value or text "
                    "indexes only"
                )
