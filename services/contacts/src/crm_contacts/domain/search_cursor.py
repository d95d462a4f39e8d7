"""Signed keyset cursors of contact listings, bound to the sort they were made for.

A cursor holds the sort, the last row's sort value and its id, signed (crm_shared.cursors) so a
client cannot forge a position; a malformed or forged cursor, or one made for another sort, is
a 400. Keyset positions (not offsets) keep pages stable while contacts change between requests.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from crm_contacts.domain.search import SortOrder
from crm_shared.cursors import ID, CursorCodec, Text, derive_key
from crm_shared.storage import Cursor

_PURPOSE = "crm-contacts/list-cursor/v1"


def cursor_key(secret: bytes) -> bytes:
    """The key that signs cursors, derived from a service secret (never the secret itself)."""
    return derive_key(secret, _PURPOSE)


@lru_cache(maxsize=8)
def _codec(key: bytes) -> CursorCodec:
    # The sort value: a string (names, timestamps, the id itself) or null (no name).
    return CursorCodec(Text(nullable=True), ID, key=key, max_length=1024)


def encode_cursor(order: SortOrder, value: Any, last_id: str, *, key: bytes) -> str:
    """The cursor continuing after the row with sort value `value` and id `last_id`."""
    return _codec(key).encode_position(Cursor(value=value, id=last_id), sort=order.name)


def decode_cursor(cursor: str, order: SortOrder, *, key: bytes) -> Cursor:
    """The keyset position of a cursor; 400 if it is malformed, forged or for another sort."""
    return _codec(key).decode_position(cursor, sort=order.name)
