"""TextMatch on MongoDB through a multikey index of trigrams, as SQLite's FTS5 trigram table does.

MongoDB's own `$text` index matches whole stemmed words, not the substrings the port promises
("5550" in a phone, "velace@eng" in an email), so it cannot serve TextMatch. Instead, a document
whose collection declares `Index((field,), text=True)` is stored with a hidden array of the
distinct three-character slices of that (already folded) field, `_tri_<field>`, indexed with
the tenant (a multikey index). A word of three or more characters can only occur in a text
holding all of its trigrams, so `$all` on that array narrows the search through the index, and
each word is then checked as a literal substring (`$regex` on the escaped word), exactly the
meaning of `port.text_holds`. Words shorter than three characters have no trigram and only
narrow what the longer words found; a query with no such word scans, as on SQLite.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pymongo import ASCENDING

from crm_shared.storage.port import CollectionSpec, TextMatch, path_value

Doc = dict[str, Any]

TOKEN_PREFIX = "_tri_"
_GRAM = 3
# Documents stored before their tokens existed get them in batches of this many at start-up.
_BACKFILL_BATCH = 1000


def token_field(field: str) -> str:
    """The hidden array of `field`'s trigrams."""
    return TOKEN_PREFIX + field.replace(".", "__")


def trigrams(text: str) -> list[str]:
    """The distinct three-character slices of `text`, sorted (a stable stored form)."""
    return sorted({text[i : i + _GRAM] for i in range(len(text) - _GRAM + 1)})


def text_fields(specs: Sequence[CollectionSpec]) -> dict[str, tuple[str, ...]]:
    """Per collection, the fields its specs give a text index."""
    found: dict[str, list[str]] = {}
    for spec in specs:
        for index in spec.indexes:
            if index.text:
                found.setdefault(spec.name, []).append(index.fields[0])
    return {name: tuple(dict.fromkeys(fields)) for name, fields in found.items()}


def with_tokens(doc: Doc, fields: Iterable[str]) -> Doc:
    """The document to store: each text field's trigrams beside it (none for a non-string)."""
    for field in fields:
        value = path_value(doc, field)
        doc[token_field(field)] = trigrams(value) if isinstance(value, str) else []
    return doc


def hidden(fields: Iterable[str]) -> dict[str, bool]:
    """A projection leaving out `_id` and the token arrays: reads return documents as written."""
    return {"_id": False} | {token_field(field): False for field in fields}


def condition(path: str, cond: TextMatch, *, indexed: bool) -> Doc:
    """The query for one TextMatch on the stored field `path`."""
    if not cond.words:
        return {path: {"$type": "string"}}
    # Each word a literal substring, in any order (re.escape: no pattern from a client).
    clauses: list[Doc] = [{path: {"$regex": re.escape(word)}} for word in cond.words]
    grams = sorted({g for word in cond.words for g in trigrams(word)}) if indexed else []
    if grams:
        clauses.insert(0, {token_field(cond.field): {"$all": grams}})
    return {"$and": clauses}


def index_keys(field: str) -> list[tuple[str, int]]:
    """The multikey index serving TextMatch on `field`; `_id` last, as every sort's tiebreak."""
    return [("tenant", ASCENDING), (token_field(field), ASCENDING), ("_id", ASCENDING)]


async def backfill(coll: Any, field: str) -> int:
    """Give tokens to the documents stored without them (before this index existed); how many.

    Idempotent, and safe beside writers: a document another writer replaced meanwhile already
    carries its own tokens and no longer matches the filter.
    """
    token = token_field(field)
    missing = {token: {"$exists": False}, field: {"$type": "string"}}
    done = 0
    while True:
        docs = await coll.find(missing, {"_id": True, field: True}, limit=_BACKFILL_BATCH).to_list()
        if not docs:
            return done
        for doc in docs:
            await coll.update_one(
                {"_id": doc["_id"], token: {"$exists": False}},
                {"$set": {token: trigrams(path_value(doc, field))}},
            )
        done += len(docs)
