"""The SQL that builds `find_json`'s answer (json_pages.py) from a stored document.

SQLite parses a row's document once for all the `->` reads of one statement (the filter's
json_extract included), and hands back the finished text: no Python object per field. A
declared list or map field the document lacks (sqlite_compact.py leaves empty ones out) reads as
its empty value; every other absent value as null. (A single multi-path json_extract would cost
about half as much per row, measured, but answers an array: no field names, no declared empties.)
"""

from __future__ import annotations

import orjson

from crm_shared.storage.json_pages import PathTree
from crm_shared.storage.sqlite_compact import DocumentCodec
from crm_shared.storage.sqlite_ids import read_id
from crm_shared.storage.sqlite_stamps import stamp_json_sql

# JSON values (json_array() and json_object() are): coalesce keeps the JSON of either side, so
# json_object inserts it as JSON without json() parsing the document's value again (~0.15 us a
# list field a row).
_EMPTY_JSON = {"list": "json_array()", "map": "json_object()"}


def _object(tree: PathTree, prefix: str, codec: DocumentCodec) -> list[str]:
    shapes = {e.field: e.shape for e in codec.empties} if not prefix else {}
    parts: list[str] = []
    for name, sub in tree.items():
        path = f"{prefix}.{name}"
        if sub is not None:
            value = f"json_object({', '.join(_object(sub, path, codec))})"
        else:
            value = codec.keys.json_sql(path[1:])
            if not prefix and name in codec.keys.stamps:
                value = stamp_json_sql(codec.keys.path(name))  # as written, not the integer
            elif (empty := _EMPTY_JSON.get(shapes.get(name, "one"))) is not None:
                value = f"coalesce({value}, {empty})"
        # Names are checked plain identifiers (path_tree): nothing is spliced from a caller.
        parts.append(f"'{name}', {value}")
    return parts


def json_column(tree: PathTree, codec: DocumentCodec) -> str:
    """The selected column: the JSON object of the tree's paths, as a BLOB (the sqlite3 module
    hands it over as bytes, with no decoding into a str); `with_id` puts the id in front."""
    return f"CAST(json_object({', '.join(_object(tree, '', codec))}) AS BLOB)"


def with_id(stored_id: object, body: bytes) -> tuple[str, bytes]:
    """A row of `find_json`: the id's text and the JSON object with the id first.

    The id's text is made here, not in SQL: formatting a UUID's bytes in SQL (hex and substr)
    made an export row cost 8 µs instead of 3.5 (100,000 contacts).
    """
    id = read_id(stored_id)
    head = b'{"id":' + orjson.dumps(id)
    return id, head + (b"," + body[1:] if len(body) > 2 else b"}")
