"""The SQL that builds `find_json`'s answer (json_pages.py) from a stored document.

SQLite parses a row's document once for all the `->` reads of one statement (the filter's
json_extract included), and hands back the finished text: no Python object per field. A
declared list or map field the document lacks (sqlite_compact.py leaves empty ones out) reads as
its empty value; every other absent value as null. (A single multi-path json_extract would cost
about half as much per row, measured, but answers an array: no field names, no declared empties.)
"""

from __future__ import annotations

from crm_shared.storage.json_pages import PathTree
from crm_shared.storage.sqlite_compact import DocumentCodec
from crm_shared.storage.sqlite_ids import ID_TEXT_SQL

_EMPTY_JSON = {"list": "'[]'", "map": "'{}'"}


def _object(tree: PathTree, prefix: str, codec: DocumentCodec) -> list[str]:
    shapes = {e.field: e.shape for e in codec.empties} if not prefix else {}
    parts: list[str] = []
    for name, sub in tree.items():
        path = f"{prefix}.{name}"
        if sub is not None:
            value = f"json_object({', '.join(_object(sub, path, codec))})"
        else:
            value = f"doc -> '{codec.keys.path(path[1:])}'"
            if (empty := _EMPTY_JSON.get(shapes.get(name, "one"))) is not None:
                value = f"json(coalesce({value}, {empty}))"
        # Names are checked plain identifiers (path_tree): nothing is spliced from a caller.
        parts.append(f"'{name}', {value}")
    return parts


def json_column(tree: PathTree, codec: DocumentCodec) -> str:
    """The selected column: the JSON object of the row's id and the tree's paths, as a BLOB
    (the sqlite3 module hands it over as bytes, with no decoding into a str)."""
    parts = [f"'id', {ID_TEXT_SQL}", *_object(tree, "", codec)]
    return f"CAST(json_object({', '.join(parts)}) AS BLOB)"
