"""Which generation of derived fields a stored contact holds, and bringing one up to date.

The derived fields (`refresh_derived`: folded emails, tags and search text, the sort name, the
matching keys) are recomputed at every write, a profile change (`apply_profile`) recomputing
only those read from the fields it changed, so contacts written by older code keep what that
code derived until a write reaches it. When what is derived changes, the version below goes up
and the backfill (service_layer/derived_backfill.py) rewrites each tenant's contacts once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_contacts.domain.contact import (
    MATCH_KEY_READS,
    SEARCH_TEXT_READS,
    contact_match_keys,
    held_search_text,
    refresh_derived,
    tags_norm,
)
from crm_shared.contact_fields import FIELDS, RETIRED_DERIVED_FIELDS
from crm_shared.storage import Derived

# 1: everything stored up to stop 8. 2: the first name + last initial blocking key (`f:`) in
# `match_keys`, and the fold that transliterates (Ø -> o, ß -> ss, Ł -> l, æ -> ae) in
# `search_text`, `name_sort`, `tags_norm` and the name keys. 3: `email_norm` and `emails_norm`
# no longer stored (RETIRED_DERIVED_FIELDS).
DERIVED_FIELDS_VERSION = 3
DERIVED_FIELDS: tuple[str, ...] = tuple(field.name for field in FIELDS if field.derived)

# The derived fields the store computes itself for its indexes (crm_shared.storage.derived):
# the match keys (~110 bytes of a contact's stored JSON on SQLite), the folded tags and the
# search text (~70 bytes: its text index's postings are made from the function, and `q`
# re-checks a candidate's words on it through one SQL function call). Reads give them back only
# where a projection names them, so a full read never computes them; the sort name stays
# stored: the name sort's expression index reads it.
# Their functions' generation (`Derived.version`): stores' entries made up to version 3 are
# generation 0, and each later version of the derived fields (a changed fold or key) is a new one,
# so a store's first start on it makes their index entries again from the stored contacts (at a
# million, minutes under the write lock) before the backfill rewrites the contacts themselves.
STORE_DERIVED_GENERATION = DERIVED_FIELDS_VERSION - 3
STORE_DERIVED: tuple[Derived, ...] = (
    Derived("match_keys", contact_match_keys, MATCH_KEY_READS, STORE_DERIVED_GENERATION),
    Derived("tags_norm", tags_norm, ("tags",), STORE_DERIVED_GENERATION),
    Derived("search_text", held_search_text, SEARCH_TEXT_READS, STORE_DERIVED_GENERATION),
)
STORE_DERIVED_FIELDS: tuple[str, ...] = tuple(d.field for d in STORE_DERIVED)


def rederived(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """The contact with its derived fields as the current code derives them; None if no change.

    Nothing else changes: not the version, not `updated_at` (no one edited the contact).
    """
    fresh = refresh_derived(dict(doc))
    if all(fresh.get(name) == doc.get(name) for name in DERIVED_FIELDS) and not any(
        name in doc for name in RETIRED_DERIVED_FIELDS
    ):
        return None
    return fresh
