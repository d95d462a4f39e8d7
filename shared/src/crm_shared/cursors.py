"""Opaque keyset cursors: encode a page's last position as a URL-safe string and decode it back.

A cursor is the unpadded base64url of a JSON array of scalars (the sort a cursor was made for,
when it is bound to one, then the position's parts), optionally followed by `.` and a truncated
HMAC so a client cannot forge a position. Decoding checks every part against the shape the
codec was built with, so anything a client made up (bad base64, non-UTF-8, `²` where a number
belongs, integers beyond 64 bits, a position for another sort) is a 400, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson

from crm_shared.problems import BadRequest
from crm_shared.storage import Cursor

CursorValue = str | int | float | None

MALFORMED = "cursor is malformed; pass the next_cursor of a previous page unchanged"
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_MAC_BYTES = 12
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class MalformedCursor(BadRequest):
    """A cursor this API did not issue (or one altered since)."""

    def __init__(self) -> None:
        super().__init__(MALFORMED)


class CursorForOtherSort(BadRequest):
    """A genuine cursor passed with another sort than the one it was made for."""

    def __init__(self, made_for: str) -> None:
        super().__init__(f"cursor was made for sort={made_for}; pass the same sort with it")


class Part(Protocol):
    """One part of a cursor's position: says whether a decoded JSON value is acceptable."""

    def accepts(self, value: object) -> bool: ...


@dataclass(frozen=True)
class Text:
    """A string part, optionally null, non-empty or matching a pattern."""

    pattern: re.Pattern[str] | None = None
    nullable: bool = False
    min_length: int = 0

    def accepts(self, value: object) -> bool:
        """True for a string of the declared form (or None when nullable)."""
        if value is None:
            return self.nullable
        if not isinstance(value, str) or len(value) < self.min_length:
            return False
        return self.pattern is None or self.pattern.fullmatch(value) is not None


@dataclass(frozen=True)
class Integer:
    """A signed 64-bit integer part (a JSON number without fraction; never a bool)."""

    minimum: int = _INT64_MIN
    maximum: int = _INT64_MAX

    def accepts(self, value: object) -> bool:
        """True for an int within [minimum, maximum]."""
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.minimum <= value <= self.maximum
        )


@dataclass(frozen=True)
class Number:
    """A finite number part within [minimum, maximum] (a score, say; never a bool)."""

    minimum: float
    maximum: float

    def accepts(self, value: object) -> bool:
        """True for a finite int or float within [minimum, maximum]."""
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and self.minimum <= value <= self.maximum
        )


ID = Text(pattern=UUID_PATTERN)


def derive_key(secret: bytes, purpose: str) -> bytes:
    """The key that signs one kind of cursor, derived from a service secret (never the secret)."""
    return hmac.new(secret, purpose.encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    # The alphabet check comes first: b64decode would otherwise skip or misread other characters.
    if _B64URL.fullmatch(text) is None or len(text) % 4 == 1:
        raise MalformedCursor()
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise MalformedCursor() from None


class CursorCodec:
    """Encodes positions of one shape as opaque cursors and decodes only well-formed ones."""

    def __init__(self, *parts: Part, key: bytes | None = None, max_length: int = 1024) -> None:
        if not parts:
            raise ValueError("a cursor needs at least one part")
        self._parts = parts
        self._key = key
        self._max_length = max_length

    def _mac(self, payload: bytes) -> bytes:
        assert self._key is not None
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, values: Sequence[CursorValue], *, sort: str | None = None) -> str:
        """The cursor of this position (made for `sort`, when given)."""
        if len(values) != len(self._parts):
            raise ValueError(f"this cursor has {len(self._parts)} part(s), not {len(values)}")
        payload = orjson.dumps([sort, *values] if sort is not None else list(values))
        token = _b64(payload)
        if self._key is not None:
            token = f"{token}.{_b64(self._mac(payload))}"
        if len(token) > self._max_length:
            raise ValueError("position too long for a cursor of this kind")
        return token

    def decode(self, token: str, *, sort: str | None = None) -> list[CursorValue]:
        """The position a cursor holds; 400 if it is malformed, forged or for another sort."""
        if not token or len(token) > self._max_length:
            raise MalformedCursor()
        payload = self._verified_payload(token)
        try:
            decoded = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise MalformedCursor() from None
        if not isinstance(decoded, list):
            raise MalformedCursor()
        if sort is not None:
            if not decoded or not isinstance(decoded[0], str):
                raise MalformedCursor()
            made_for, decoded = decoded[0], decoded[1:]
            if made_for != sort:
                # Only a signed cursor's sort is known to be ours; never echo made-up text.
                raise CursorForOtherSort(made_for) if self._key else MalformedCursor()
        if len(decoded) != len(self._parts):
            raise MalformedCursor()
        if not all(part.accepts(value) for part, value in zip(self._parts, decoded, strict=True)):
            raise MalformedCursor()
        return decoded

    def _verified_payload(self, token: str) -> bytes:
        if self._key is None:
            return _unb64(token)
        body, dot, mac = token.partition(".")
        if not dot or not mac:
            raise MalformedCursor()
        payload, signature = _unb64(body), _unb64(mac)
        if not hmac.compare_digest(signature, self._mac(payload)):
            raise MalformedCursor()
        return payload

    def encode_position(self, after: Cursor, *, sort: str | None = None) -> str:
        """The cursor of a keyset position (sort value, id); the codec has those two parts."""
        return self.encode([after.value, after.id], sort=sort)

    def decode_position(self, token: str, *, sort: str | None = None) -> Cursor:
        """The keyset position (sort value, id) a two-part cursor holds."""
        value, last_id = self.decode(token, sort=sort)
        if not isinstance(last_id, str):
            raise MalformedCursor()
        return Cursor(value=value, id=last_id)
