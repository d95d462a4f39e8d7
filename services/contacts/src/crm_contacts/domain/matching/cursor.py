"""Opaque, signed keyset cursors of the duplicate groups listing (score, then pair id)."""

from __future__ import annotations

from functools import lru_cache

from crm_shared.cursors import CursorCodec, Number, Text, derive_key
from crm_shared.storage import Cursor

_PURPOSE = "crm-contacts/duplicates-cursor/v1"


@lru_cache(maxsize=8)
def _codec(secret: bytes) -> CursorCodec:
    return CursorCodec(
        Number(minimum=0.0, maximum=1.0),
        Text(min_length=1),
        key=derive_key(secret, _PURPOSE),
        max_length=512,
    )


def encode_pair_cursor(score: float, pair_id: str, *, secret: bytes) -> str:
    """The cursor continuing after the pair with this score and id."""
    return _codec(secret).encode_position(Cursor(value=score, id=pair_id))


def decode_pair_cursor(cursor: str, *, secret: bytes) -> Cursor:
    """The keyset position of a cursor; 400 if it is malformed or forged."""
    position = _codec(secret).decode_position(cursor)
    return Cursor(value=float(position.value), id=position.id)
