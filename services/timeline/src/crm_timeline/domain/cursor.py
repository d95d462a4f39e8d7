"""The opaque keyset cursor of a timeline page: urlsafe base64 of (occurred_at, id)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

import orjson

from crm_timeline.domain.errors import InvalidCursor

_ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_MAX_CURSOR_LENGTH = 256


@dataclass(frozen=True)
class TimelinePosition:
    """The sort key of the last item a page returned."""

    occurred_at: str
    item_id: str


def encode_cursor(position: TimelinePosition) -> str:
    """Encode a position as an opaque, URL-safe token."""
    raw = orjson.dumps([position.occurred_at, position.item_id])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(token: str) -> TimelinePosition:
    """Decode a token made by `encode_cursor`; raise InvalidCursor (400) for anything else."""
    if not token or len(token) > _MAX_CURSOR_LENGTH:
        raise InvalidCursor()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        value = orjson.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor() from exc
    match value:
        case [str(occurred_at), str(item_id)] if _ISO_UTC.match(occurred_at) and item_id:
            return TimelinePosition(occurred_at=occurred_at, item_id=item_id)
    raise InvalidCursor()
