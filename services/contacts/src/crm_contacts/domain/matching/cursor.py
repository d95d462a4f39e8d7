"""Opaque, signed keyset cursors of the duplicate groups listing (score, then id)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import orjson

from crm_shared.problems import BadRequest
from crm_shared.storage import Cursor

_MAX = 512
_MALFORMED = "cursor is malformed; pass the next_cursor of a previous page unchanged"


def _key(secret: bytes) -> bytes:
    return hmac.new(secret, b"crm-contacts/duplicates-cursor/v1", hashlib.sha256).digest()


def _mac(secret: bytes, payload: bytes) -> str:
    digest = hmac.new(_key(secret), payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def encode_pair_cursor(score: float, pair_id: str, *, secret: bytes) -> str:
    """The cursor continuing after the pair with this score and id."""
    payload = orjson.dumps([score, pair_id])
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{_mac(secret, payload)}"


def decode_pair_cursor(cursor: str, *, secret: bytes) -> Cursor:
    """The keyset position of a cursor; 400 if it is malformed or forged."""
    body, _, mac = cursor.partition(".")
    if len(cursor) > _MAX or not mac:
        raise BadRequest(_MALFORMED)
    try:
        payload = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(_MALFORMED) from None
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        raise BadRequest(_MALFORMED)
    try:
        score, pair_id = orjson.loads(payload)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        raise BadRequest(_MALFORMED) from None
    if not isinstance(score, (int, float)) or not isinstance(pair_id, str):
        raise BadRequest(_MALFORMED)
    return Cursor(value=float(score), id=pair_id)
