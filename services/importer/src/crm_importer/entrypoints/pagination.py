"""Opaque keyset cursors (crm_shared.cursors): the error listing's last row number and id, and
the job listings' last id (newest first; ids are time-ordered)."""

from __future__ import annotations

from crm_shared.cursors import ID, CursorCodec, Integer
from crm_shared.storage import Cursor

_CODEC = CursorCodec(Integer(minimum=0), ID, max_length=256)
_ID_CODEC = CursorCodec(ID, max_length=128)


def encode_cursor(row_number: int, item_id: str) -> str:
    """An opaque cursor pointing after this row."""
    return _CODEC.encode_position(Cursor(value=row_number, id=item_id))


def decode_cursor(raw: str | None) -> Cursor | None:
    """The position a cursor points after; 400 if it was not made by `encode_cursor`."""
    if not raw:
        return None
    return _CODEC.decode_position(raw)


def encode_id_cursor(item_id: str | None) -> str | None:
    """An opaque cursor pointing after this job in a listing (None: no further page)."""
    return None if item_id is None else _ID_CODEC.encode([item_id])


def decode_id_cursor(raw: str | None) -> str | None:
    """The job id a listing cursor points after; 400 if it was not made by `encode_id_cursor`."""
    if not raw:
        return None
    [item_id] = _ID_CODEC.decode(raw)
    assert isinstance(item_id, str)  # the codec accepts only an id
    return item_id
