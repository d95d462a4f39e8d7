"""Opaque keyset cursors for the error listing: the last row number and id, base64url-encoded."""

from __future__ import annotations

import base64
import binascii

from crm_shared.problems import BadRequest
from crm_shared.storage import Cursor


def encode_cursor(row_number: int, item_id: str) -> str:
    """An opaque cursor pointing after this row."""
    return base64.urlsafe_b64encode(f"{row_number}:{item_id}".encode()).decode().rstrip("=")


def decode_cursor(raw: str | None) -> Cursor | None:
    """The position a cursor points after; 400 if it was not made by `encode_cursor`."""
    if not raw:
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        number, item_id = text.split(":", 1)
        return Cursor(value=int(number), id=item_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadRequest("cursor is not valid; pass the next_cursor of a previous page") from exc
