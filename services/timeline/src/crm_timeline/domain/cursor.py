"""The opaque keyset cursor of a timeline page: (occurred_at, item id), see crm_shared.cursors."""

from __future__ import annotations

import re
from dataclasses import dataclass

from crm_shared.cursors import CursorCodec, MalformedCursor, Text
from crm_timeline.domain.errors import InvalidCursor

_ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", re.ASCII)
_CODEC = CursorCodec(Text(pattern=_ISO_UTC), Text(min_length=1), max_length=256)


@dataclass(frozen=True)
class TimelinePosition:
    """The sort key of the last item a page returned."""

    occurred_at: str
    item_id: str


def encode_cursor(position: TimelinePosition) -> str:
    """Encode a position as an opaque, URL-safe token."""
    return _CODEC.encode([position.occurred_at, position.item_id])


def decode_cursor(token: str) -> TimelinePosition:
    """Decode a token made by `encode_cursor`; raise InvalidCursor (400) for anything else."""
    try:
        occurred_at, item_id = _CODEC.decode(token)
    except MalformedCursor:
        raise InvalidCursor() from None
    return TimelinePosition(occurred_at=str(occurred_at), item_id=str(item_id))
