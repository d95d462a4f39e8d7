"""The opaque keyset cursor."""

from __future__ import annotations

import base64

import pytest

from crm_timeline.domain.cursor import TimelinePosition, decode_cursor, encode_cursor
from crm_timeline.domain.errors import InvalidCursor


def test_a_cursor_decodes_to_the_position_it_encodes() -> None:
    position = TimelinePosition(occurred_at="2025-03-01T09:00:00.000000Z", item_id="abc")

    token = encode_cursor(position)

    assert decode_cursor(token) == position
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@pytest.mark.parametrize(
    "token",
    [
        "",
        "!!!not-base64",
        "é",
        _b64(b"not json"),
        _b64(b'{"occurred_at": "2025-03-01T09:00:00.000000Z", "id": "x"}'),
        _b64(b'["2025-03-01", "x"]'),
        _b64(b'["2025-03-01T09:00:00.000000Z", ""]'),
        _b64(b'["2025-03-01T09:00:00.000000Z", 5]'),
        "A" * 300,
    ],
    ids=[
        "empty",
        "symbols",
        "non-ascii",
        "not-json",
        "object",
        "bad-time",
        "no-id",
        "int-id",
        "long",
    ],
)
def test_a_malformed_cursor_is_refused(token: str) -> None:
    with pytest.raises(InvalidCursor) as raised:
        decode_cursor(token)

    assert raised.value.status == 400
