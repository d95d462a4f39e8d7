"""Store-derived fields: top-level fields a store computes from a document's other fields.

A collection declares one (`CollectionSpec.derived`) for a field that exists only to be indexed
(a contact's match keys, its folded tags, its search text under a text index): the service
supplies the function (no adapter imports a service). The field is internal to the store: every
adapter indexes `derive(doc)` of the document as written, whatever the writer put there, and a
read gives it back only where a projection names it. A full read (get, find without fields,
find_json without the path) leaves it out on every adapter, so a read that does not need it
never computes it: SQLite does not store it at all (the match keys alone were ~110 of a
contact's ~510 bytes of JSON) and derives it where its SQL needs it (`DERIVED_SQL`: projections,
checks on candidates of its hashed look-ups, conditions that fall back to the document); MongoDB
and the memory store keep it in the stored document (their indexes read it there) and hide it
from full reads.

A document stored before its field was declared derived still holds it: its index entries were
made from that value, so the stored value is what the store reads for it (a projection, a
delete finding its entries) until the document is next written.

`derive` must be deterministic and read only `reads` (top-level fields), each of which may be
absent or null (SQL hands it only those fields, absent ones as null), and must treat an absent
field, null and an empty list or map alike (a store leaves declared empty fields out).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The SQL function giving a derived field's JSON from a JSON object of the fields it reads:
# (collection, field, reads JSON).
DERIVED_SQL = "crm_derived"


@dataclass(frozen=True)
class Derived:
    """A top-level field computed from `reads`, the top-level fields `derive` looks at."""

    field: str
    derive: Callable[[Mapping[str, Any]], Any]
    reads: tuple[str, ...]
    # The function's generation: raise it whenever `derive` gives another value for some
    # document. A store's index entries carry the generation that made them (SQLite: in the name
    # of their filled marker, sqlite_filled.py), so entries of another one are made again from
    # the stored documents at the next start instead of being taken away with values the new
    # function never gave (a replace derives a document's old entries from its stored fields).
    version: int = 0

    @property
    def entries_suffix(self) -> str:
        """What the generation adds to the name of the entries' filled marker ("" for 0)."""
        return f"_d{self.version}" if self.version else ""

    def older_suffixes(self) -> tuple[str, ...]:
        """The suffixes earlier generations' markers had."""
        return tuple(f"_d{v}" if v else "" for v in range(self.version))


def with_derived(doc: Mapping[str, Any], derived: Sequence[Derived]) -> dict[str, Any]:
    """A copy of a document being written, holding each derived field as its function gives it
    (what the store indexes, whatever the writer put there)."""
    out = dict(doc)
    for d in derived:
        out[d.field] = d.derive(doc)
    return out


def held_derived(doc: dict[str, Any], derived: Sequence[Derived]) -> dict[str, Any]:
    """A stored document (changed in place) holding each derived field: the stored value of a
    document written before the field was derived, else the function's."""
    for d in derived:
        if d.field not in doc:
            doc[d.field] = d.derive(doc)
    return doc


def without_derived(doc: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    """A document (changed in place) as a full read gives it: no derived field."""
    for name in names:
        doc.pop(name, None)
    return doc


def same_input(stored: Any, written: Any) -> bool:
    """Whether a stored field (absent when it held its declared empty value) and a written one
    are the same input to a derived field's function."""
    return stored == written or (
        not stored and not written and stored in _EMPTY and written in _EMPTY
    )


_EMPTY: tuple[Any, ...] = (None, [], {})


def collection_derived(specs: Sequence[Any]) -> dict[str, tuple[Derived, ...]]:
    """Per collection, the derived fields its specs declare (the first declaration of a field)."""
    found: dict[str, dict[str, Derived]] = {}
    for spec in specs:
        for d in spec.derived:
            found.setdefault(spec.name, {}).setdefault(d.field, d)
    return {name: tuple(fields.values()) for name, fields in found.items()}
