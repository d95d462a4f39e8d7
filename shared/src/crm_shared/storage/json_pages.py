"""Pages of documents as JSON text holding a few of their fields: reads for a stream that sends
what it reads (an export of a million contacts), where building a dict per document and
serializing it again would cost more than the read.

`find_json` gives each matching document, in id order after an id, as the UTF-8 bytes of the
JSON object `{"id": ..., <paths>}` (bytes: a stream sends them as they are, never decoded). A
top-level path is the field's value (a declared field the document lacks as its empty value,
`port.Empty`; any other absent field null); a dotted path `a.b` puts `{"a": {"b": value}}`
(null where the document has no such value, or `a` is not an object), and paths under one field
share its object. Keys follow the order the paths were given. Every adapter answers the same
JSON up to key spacing: SQLite builds it in SQL from the stored document (`sqlite_json.py`),
MongoDB projects the query and serializes here, the memory store serializes here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import orjson

from crm_shared.storage.port import Cursor, Session, Where, check_field

# A path's place in the answer: a leaf (None) or the sub-paths under it.
PathTree = dict[str, "PathTree | None"]


def path_tree(paths: Sequence[str]) -> PathTree:
    """The paths as a tree; ValueError for a malformed, repeated or overlapping path, `tenant`,
    or none at all. `id` is always in the answer: naming it adds nothing."""
    tree: PathTree = {}
    for path in paths:
        parts = check_field(path).split(".")
        if parts[0] == "tenant":
            raise ValueError("the tenant is never part of the answer")
        if parts == ["id"]:
            continue
        node = tree
        for depth, part in enumerate(parts):
            leaf = depth == len(parts) - 1
            if part in node and (leaf or node[part] is None):
                raise ValueError(f"path {path!r} repeats or overlaps another")
            if leaf:
                node[part] = None
            else:
                node = cast(PathTree, node.setdefault(part, {}))
    if not tree and "id" not in paths:
        raise ValueError("name at least one path")
    return tree


def _pick(value: Any, tree: PathTree) -> dict[str, Any]:
    source = value if isinstance(value, Mapping) else {}
    return {
        name: source.get(name) if sub is None else _pick(source.get(name), sub)
        for name, sub in tree.items()
    }


def projected_json(doc: Mapping[str, Any], tree: PathTree) -> bytes:
    """The answer's JSON for one document already holding its declared empty fields."""
    return orjson.dumps({"id": doc["id"], **_pick(doc, tree)})


async def find_json(
    session: Session,
    collection: str,
    *,
    tenant: str,
    paths: Sequence[str],
    where: Sequence[Where] = (),
    after: str | None = None,
    limit: int = 100,
) -> list[tuple[str, bytes]]:
    """Up to `limit` matching documents in id order after the id `after`: (id, JSON bytes).

    The SQLite, MongoDB and memory sessions answer it themselves; a session wrapper without
    `find_json` (kept out of the Session protocol, so wrappers need not grow it) is read through
    `find` and serialized here.
    """
    native = getattr(session, "find_json", None)
    if native is not None:
        rows = await native(
            collection, tenant=tenant, paths=paths, where=where, after=after, limit=limit
        )
        return cast(list[tuple[str, bytes]], rows)
    tree = path_tree(paths)
    position = Cursor(value=after, id=after) if after is not None else None
    docs = await session.find(collection, tenant=tenant, where=where, limit=limit, after=position)
    return [(doc["id"], projected_json(doc, tree)) for doc in docs]
