"""Compact documents in the SQLite adapter: no id and tenant, no declared empty fields.

A document's id and tenant are the row's own columns: written again in its JSON they cost ~60
bytes a document, so they are left out and put back from the columns when it is read (a row
written before, with them in its JSON, reads the same).

A collection may declare fields its documents always hold (`CollectionSpec.empties`). Most of a
contact's fields are empty most of the time (no merge, no deletion, no additional phones, no
external ids...), and their names and empty values were about a third of its JSON. So a
declared field holding its empty value is left out of the stored JSON and put back when a
document is read; a document written before (with the empty values in its JSON) reads the same,
so stores need no migration: a row is compacted when it is next written.

Queries need no change: `json_extract` gives NULL for an absent field as for a null one, an
absent list holds no element (json_each yields nothing), and a multi-value index has no entries
for either. A projection reads an absent list or map field as its empty value in the SQL.

A derived field (derived.py) is never written: a full read leaves it out (one a document still
holds from before is dropped), a projection naming it reads it through SQL (sqlite_derived.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from crm_shared.storage.port import Empty, projection
from crm_shared.storage.sqlite_ids import ID_TEXT_SQL
from crm_shared.storage.sqlite_keys import NO_KEYS, KeyMap

# Fields every document has that are columns of its row, not part of its stored JSON.
_COLUMNS = frozenset(("id", "tenant"))


@dataclass(frozen=True)
class DocumentCodec:
    """How one collection's documents are written to and read from their JSON column."""

    empties: tuple[Empty, ...] = ()
    # The short keys the stored JSON uses for declared fields (sqlite_keys.py).
    keys: KeyMap = NO_KEYS
    # Derived fields (derived.py): left out of the stored JSON and of full reads.
    derived: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # name -> empty value, for the write path's one dict look-up per field.
        object.__setattr__(self, "_by_name", {e.field: e.value for e in self.empties})
        # (name, shape) in declared order, for the read path: a page decodes 50 documents
        # missing ~15 empty fields each, and `with_empties` made each empty value by a call.
        shapes = tuple((e.field, e.shape) for e in self.empties)
        object.__setattr__(self, "_shapes", shapes)
        object.__setattr__(self, "_left_out", _COLUMNS | self.derived)

    def encode(self, doc: dict[str, Any]) -> str:
        """The stored JSON of a document: its id, tenant and declared empty fields left out."""
        by_name: dict[str, Any] = self._by_name  # type: ignore[attr-defined]
        left_out: frozenset[str] = self._left_out  # type: ignore[attr-defined]
        kept = self.keys.encode(
            (k, v)
            for k, v in doc.items()
            if k not in left_out and (k not in by_name or v != by_name[k])
        )
        return orjson.dumps(kept).decode()

    def decode(self, stored: str | bytes, *, tenant: str, id: str) -> dict[str, Any]:
        """A stored document as written: id and tenant from its row, absent empties back."""
        doc: dict[str, Any] = {"id": id, **self.keys.decode(orjson.loads(stored)), "tenant": tenant}
        for name in self.derived:  # held by a document written before it was derived
            doc.pop(name, None)
        shapes: tuple[tuple[str, str], ...] = self._shapes  # type: ignore[attr-defined]
        # As `with_empties`, inline: absent fields appended in declared order, fresh lists/maps.
        for name, shape in shapes:
            if name not in doc:
                doc[name] = None if shape == "one" else [] if shape == "list" else {}
        return doc

    def columns(self, fields: Sequence[str] | None) -> str:
        """The selected column: the whole document, or a JSON object of id, tenant and fields.

        A projected list or map field that is absent reads as its empty value; an absent
        field of shape "one" reads as null, its empty value, without help.
        """
        if fields is None:
            return "id, doc"
        shapes = {e.field: e.shape for e in self.empties}
        parts = [f"'id', {ID_TEXT_SQL}", "'tenant', tenant"]
        for name in projection(fields):
            if name in _COLUMNS:
                continue  # already there, from the row's columns
            value = self.keys.json_sql(name)
            if (shape := shapes.get(name)) in ("list", "map"):
                value = f"json(coalesce({value}, '{'[]' if shape == 'list' else '{}'}'))"
            parts.append(f"'{name}', {value}")
        return f"json_object({', '.join(parts)})"
