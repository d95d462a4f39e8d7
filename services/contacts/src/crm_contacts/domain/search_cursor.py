"""Opaque, signed keyset cursors of contact listings.

A cursor holds the sort it was made for, the last row's sort value and its id, signed with an
HMAC so a client cannot forge a position; a malformed or forged cursor, or one made for another
sort, is a 400. Keyset positions (not offsets) keep pages stable while contacts are added or
changed between requests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Any

import orjson

from crm_contacts.domain.search import SortOrder
from crm_shared.problems import BadRequest
from crm_shared.storage import Cursor

_CURSOR_MAX = 1024
_MAC_BYTES = 12
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MALFORMED = "cursor is malformed; pass the next_cursor of a previous page unchanged"


def cursor_key(secret: bytes) -> bytes:
    """The key that signs cursors, derived from a service secret (never the secret itself)."""
    return hmac.new(secret, b"crm-contacts/list-cursor/v1", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_cursor(order: SortOrder, value: Any, last_id: str, *, key: bytes) -> str:
    """The cursor continuing after the row with sort value `value` and id `last_id`."""
    payload = orjson.dumps([order.name, value, last_id])
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def decode_cursor(cursor: str, order: SortOrder, *, key: bytes) -> Cursor:
    """The keyset position of a cursor; 400 if it is malformed, forged or for another sort."""
    body, _, mac = cursor.partition(".")
    if len(cursor) > _CURSOR_MAX or not mac:
        raise BadRequest(_MALFORMED)
    try:
        payload, signature = _unb64(body), _unb64(mac)
    except (binascii.Error, ValueError):
        raise BadRequest(_MALFORMED) from None
    if not hmac.compare_digest(signature, _mac(key, payload)):
        raise BadRequest(_MALFORMED)
    try:
        sort, value, last_id = orjson.loads(payload)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        raise BadRequest(_MALFORMED) from None
    if sort != order.name:
        raise BadRequest(f"cursor was made for sort={sort}; pass the same sort with it")
    if not (isinstance(last_id, str) and _UUID.fullmatch(last_id)) or not (
        value is None or isinstance(value, str)
    ):
        raise BadRequest(_MALFORMED)
    return Cursor(value=value, id=last_id)
