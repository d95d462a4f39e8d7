"""Opaque keyset cursors for the error listing: the last row number and id (crm_shared.cursors)."""

from __future__ import annotations

from crm_shared.cursors import ID, CursorCodec, Integer
from crm_shared.storage import Cursor

_CODEC = CursorCodec(Integer(minimum=0), ID, max_length=256)


def encode_cursor(row_number: int, item_id: str) -> str:
    """An opaque cursor pointing after this row."""
    return _CODEC.encode_position(Cursor(value=row_number, id=item_id))


def decode_cursor(raw: str | None) -> Cursor | None:
    """The position a cursor points after; 400 if it was not made by `encode_cursor`."""
    if not raw:
        return None
    return _CODEC.decode_position(raw)
