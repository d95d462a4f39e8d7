"""A collection with store-derived fields (crm_shared.storage.derived), for the contract tests.

`keys` is derived as a contact's match keys are (lower-cased emails and name, none once gone),
indexed lookup-only (SQLite holds its values hashed, by row key); `labels_norm` as its folded
tags (an ordinary multi-value index); `blurb` as its search text (a text index).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_shared.ids import new_id
from crm_shared.storage import CollectionSpec, Derived, Empty, Index

CARDS = "cards"


def card_keys(doc: Mapping[str, Any]) -> list[str]:
    """The lookup keys of a card: its emails and its name, lower-cased; none once it is gone."""
    if doc.get("gone_at") is not None:
        return []
    keys = {f"e:{email.lower()}" for email in doc.get("emails") or ()}
    if doc.get("name"):
        keys.add(f"n:{doc['name'].lower()}")
    return sorted(keys)


def labels_norm(doc: Mapping[str, Any]) -> list[str]:
    """A card's labels, case-folded."""
    return [label.casefold() for label in doc.get("labels") or ()]


def blurb(doc: Mapping[str, Any]) -> str:
    """What a text search of a card reads: its name and emails, lower-cased; none once gone."""
    if doc.get("gone_at") is not None:
        return ""
    return " ".join(p.lower() for p in (doc.get("name"), *(doc.get("emails") or ())) if p)


DERIVED = (
    Derived("keys", card_keys, ("name", "emails", "gone_at")),
    Derived("labels_norm", labels_norm, ("labels",)),
    Derived("blurb", blurb, ("name", "emails", "gone_at")),
)
INDEXES = (
    Index(("keys",), multi_value="array", lookup_only=True),
    Index(("labels_norm",), multi_value="array"),
    Index(("blurb",), text=True),
)
EMPTIES = (
    Empty("emails", "list"),
    Empty("labels", "list"),
    Empty("gone_at"),
    # Declared too: a derived field still has no empty value on a full read.
    Empty("keys", "list"),
    Empty("labels_norm", "list"),
)
CARDS_SPEC = CollectionSpec(CARDS, indexes=INDEXES, empties=EMPTIES, derived=DERIVED)
# The same collection as code that stored the derived fields wrote it.
STORED_SPEC = CollectionSpec(CARDS, indexes=INDEXES, empties=EMPTIES)


def card(
    name: str, emails: list[str], labels: list[str], *, tenant: str = "acme"
) -> dict[str, Any]:
    """A card whose writer put wrong derived values: every store derives its own."""
    return {
        "id": new_id(),
        "tenant": tenant,
        "name": name,
        "emails": emails,
        "labels": labels,
        "gone_at": None,
        "version": 1,
        "keys": ["e:written-by-the-caller"],
        "labels_norm": ["Written-By-The-Caller"],
        "blurb": "written by the caller",
    }


def as_stored_by_older_code(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A card as code that stored its derived fields wrote it: their values in the document,
    its text as older code folded it (marked "older", which the current function never gives)."""
    return {
        **doc,
        "keys": card_keys(doc),
        "labels_norm": labels_norm(doc),
        "blurb": f"{blurb(doc)} older",
    }
