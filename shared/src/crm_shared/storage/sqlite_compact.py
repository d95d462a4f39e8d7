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
holds from before is dropped). A projection naming it selects the value a document still holds
and the fields its function reads, and `finish` derives it in Python where none was held
(~2 us a match-key list; through the SQL function of sqlite_derived.py, which builds, parses
and writes JSON around the same call, a re-match round's ~13 holders a contact cost ~60%
more CPU per contact).

Declared timestamps (`KeyMap.stamps`) are stored as integers and read as their text
(sqlite_stamps.py), by `decode` and in the SQL of projections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from crm_shared.storage.derived import Derived
from crm_shared.storage.port import Contains, ContainsAny, Empty, Where, projection
from crm_shared.storage.sqlite_ids import ID_TEXT_SQL
from crm_shared.storage.sqlite_keys import NO_KEYS, KeyMap
from crm_shared.storage.sqlite_stamps import read_stamp, stamp_json_sql, stored_stamp

# Fields every document has that are columns of its row, not part of its stored JSON.
_COLUMNS = frozenset(("id", "tenant"))


@dataclass(frozen=True)
class DocumentCodec:
    """How one collection's documents are written to and read from their JSON column."""

    empties: tuple[Empty, ...] = ()
    # The short keys the stored JSON uses for declared fields (sqlite_keys.py).
    keys: KeyMap = NO_KEYS
    # Derived fields (derived.py): left out of the stored JSON and of full reads.
    derived: tuple[Derived, ...] = ()

    def __post_init__(self) -> None:
        # name -> empty value, for the write path's one dict look-up per field.
        object.__setattr__(self, "_by_name", {e.field: e.value for e in self.empties})
        # (name, shape) in declared order, for the read path: a page decodes 50 documents
        # missing ~15 empty fields each, and `with_empties` made each empty value by a call.
        shapes = tuple((e.field, e.shape) for e in self.empties)
        object.__setattr__(self, "_shapes", shapes)
        names = frozenset(d.field for d in self.derived)
        object.__setattr__(self, "_derived_names", names)
        object.__setattr__(self, "_left_out", _COLUMNS | names)
        # The stored keys of the timestamp fields (sqlite_stamps.py), for the write path.
        stamp_keys = tuple(self.keys.stored_key(name) for name in sorted(self.keys.stamps))
        object.__setattr__(self, "_stamp_keys", stamp_keys)

    def encode(self, doc: dict[str, Any]) -> str:
        """The stored JSON of a document: its id, tenant and declared empty fields left out."""
        by_name: dict[str, Any] = self._by_name  # type: ignore[attr-defined]
        left_out: frozenset[str] = self._left_out  # type: ignore[attr-defined]
        kept = self.keys.encode(
            (k, v)
            for k, v in doc.items()
            if k not in left_out and (k not in by_name or v != by_name[k])
        )
        for key in self._stamp_keys:  # type: ignore[attr-defined]
            if key in kept:
                kept[key] = stored_stamp(kept[key])
        return orjson.dumps(kept).decode()

    def decode(
        self, stored: str | bytes, *, tenant: str, id: str, held: bool = False
    ) -> dict[str, Any]:
        """A stored document as written: id and tenant from its row, absent empties back.

        `held`: with its derived fields (`without` takes them out after a check)."""
        doc: dict[str, Any] = {"id": id, **self.keys.decode(orjson.loads(stored)), "tenant": tenant}
        for d in self.derived:
            if held:
                if d.field not in doc:  # else held by a document written before it was derived
                    doc[d.field] = d.derive(doc)
            else:
                doc.pop(d.field, None)
        shapes: tuple[tuple[str, str], ...] = self._shapes  # type: ignore[attr-defined]
        # As `with_empties`, inline: absent fields appended in declared order, fresh lists/maps.
        for name, shape in shapes:
            if name not in doc:
                doc[name] = None if shape == "one" else [] if shape == "list" else {}
        for name in self.keys.stamps:
            if (value := doc.get(name)) is not None and type(value) is not str:
                doc[name] = read_stamp(value)
        return doc

    def columns(self, fields: Sequence[str] | None) -> str:
        """The selected column: the whole document, or a JSON object of id, tenant and fields.

        A projected list or map field that is absent reads as its empty value; an absent
        field of shape "one" reads as null, its empty value, without help.
        """
        if fields is None:
            return "id, doc"
        shapes = {e.field: e.shape for e in self.empties}
        # The row holds the tenant's code (sqlite_tenants.py): the reader puts the page's
        # tenant's name in its place, which stays second as in a whole document.
        parts = [f"'id', {ID_TEXT_SQL}", "'tenant', NULL"]
        for name in (*projection(fields), *self._reads_for(fields)):
            if name in _COLUMNS:
                continue  # already there, from the row's columns
            # A derived field: the value a document still holds, else null (`finish`).
            value = f"doc -> '{self.keys.path(name)}'"
            if name in self.keys.stamps:
                value = stamp_json_sql(self.keys.path(name))
            elif (shape := shapes.get(name)) in ("list", "map"):
                value = f"json(coalesce({value}, '{'[]' if shape == 'list' else '{}'}'))"
            parts.append(f"'{name}', {value}")
        return f"json_object({', '.join(parts)})"

    def _reads_for(self, fields: Sequence[str]) -> tuple[str, ...]:
        """The fields the projected derived fields read that the projection leaves out."""
        names: frozenset[str] = self._derived_names  # type: ignore[attr-defined]
        if names.isdisjoint(fields):
            return ()
        reads = (r for d in self.derived if d.field in fields for r in d.reads)
        return tuple(dict.fromkeys(r for r in reads if r not in fields))

    def checked_fields(self, where: Sequence[Where]) -> frozenset[str]:
        """Derived fields the conditions test element by element (a hashed look-up's
        candidates are checked on them)."""
        names: frozenset[str] = self._derived_names  # type: ignore[attr-defined]
        if not names:
            return frozenset()
        return frozenset(
            c.field
            for c in where
            if isinstance(c, (Contains, ContainsAny))
            and c.field in names
            and not (isinstance(c, ContainsAny) and c.candidates)
        )

    def without(
        self, doc: dict[str, Any], fields: Sequence[str] | None, checked: frozenset[str]
    ) -> dict[str, Any]:
        """A document read for a check of derived fields, as the read asked for it."""
        if fields is None:
            for d in self.derived:
                del doc[d.field]
            return doc
        for name in checked:
            if name not in fields:
                del doc[name]
        return doc

    def finish(self, docs: list[dict[str, Any]], fields: Sequence[str]) -> list[dict[str, Any]]:
        """Projected documents (from `columns`) with their derived fields: a value a document
        held, else derived from the fields read for it, which then leave."""
        wanted = [d for d in self.derived if d.field in fields]
        if not wanted:
            return docs
        extra = self._reads_for(fields)
        for doc in docs:
            for d in wanted:
                if doc[d.field] is None:
                    doc[d.field] = d.derive(doc)
            for name in extra:
                del doc[name]
        return docs
