"""The shared cursor codec: round trips, signatures, sort binding and every malformed class."""

from __future__ import annotations

import base64

import orjson
import pytest

from crm_shared.cursors import (
    ID,
    CursorCodec,
    CursorForOtherSort,
    Integer,
    MalformedCursor,
    Number,
    Text,
    derive_key,
)
from crm_shared.ids import new_id
from crm_shared.storage import Cursor

KEY = derive_key(b"secret", "tests/cursor/v1")
SIGNED = CursorCodec(Text(nullable=True), ID, key=KEY)
ROWS = CursorCodec(Integer(minimum=0), ID)
SEQ = CursorCodec(Integer(minimum=0))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_an_unsigned_cursor_round_trips_its_position() -> None:
    last_id = new_id()

    token = ROWS.encode_position(Cursor(value=42, id=last_id))

    assert ROWS.decode_position(token) == Cursor(value=42, id=last_id)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_a_signed_cursor_round_trips_its_position_and_sort() -> None:
    last_id = new_id()

    token = SIGNED.encode_position(Cursor(value="zoë müller", id=last_id), sort="-name")

    assert SIGNED.decode_position(token, sort="-name") == Cursor(value="zoë müller", id=last_id)
    assert "=" not in token and "/" not in token and "+" not in token


def test_a_null_sort_value_round_trips() -> None:
    last_id = new_id()
    token = SIGNED.encode_position(Cursor(value=None, id=last_id), sort="name")
    assert SIGNED.decode_position(token, sort="name") == Cursor(value=None, id=last_id)


def test_a_cursor_for_another_sort_is_refused_naming_the_sort() -> None:
    token = SIGNED.encode_position(Cursor(value="ada", id=new_id()), sort="name")

    with pytest.raises(CursorForOtherSort, match="sort=name") as raised:
        SIGNED.decode_position(token, sort="-name")

    assert raised.value.status == 400


def test_an_unsigned_cursor_for_another_sort_does_not_echo_its_text() -> None:
    codec = CursorCodec(Text(), ID)
    token = codec.encode(["ada", new_id()], sort="<script>")

    with pytest.raises(MalformedCursor):
        codec.decode(token, sort="name")


def test_a_forged_body_with_a_genuine_signature_is_refused() -> None:
    genuine = SIGNED.encode_position(Cursor(value="ada", id=new_id()), sort="name")
    forged_body = SIGNED.encode_position(Cursor(value="zzz", id=new_id()), sort="name")
    mac = genuine.partition(".")[2]

    with pytest.raises(MalformedCursor):
        SIGNED.decode(f"{forged_body.partition('.')[0]}.{mac}", sort="name")


def test_a_signed_cursor_without_its_signature_is_refused() -> None:
    token = SIGNED.encode_position(Cursor(value="ada", id=new_id()), sort="name")
    with pytest.raises(MalformedCursor):
        SIGNED.decode(token.partition(".")[0], sort="name")


def test_a_cursor_signed_with_another_key_is_refused() -> None:
    other = CursorCodec(Text(nullable=True), ID, key=derive_key(b"other", "tests/cursor/v1"))
    token = other.encode_position(Cursor(value="ada", id=new_id()), sort="name")
    with pytest.raises(MalformedCursor):
        SIGNED.decode(token, sort="name")


def test_keys_differ_per_purpose() -> None:
    assert derive_key(b"secret", "a/v1") != derive_key(b"secret", "b/v1")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "!!",
        "%%%",
        "é",
        "AAAA=",
        "A",
        "x" * 2000,
        _b64(b"\xff\xfe\x00"),
        _b64(b"not json"),
        _b64(b'{"a": 1}'),
        _b64(b"[]"),
        _b64(b'["\\u00b2"]'),
        _b64('["²"]'.encode()),
        _b64(b"[99999999999999999999999]"),
        _b64(b"[18446744073709551615]"),
        _b64(b"[9223372036854775808]"),
        _b64(b"[-1]"),
        _b64(b"[1.5]"),
        _b64(b"[1e400]"),
        _b64(b"[true]"),
        _b64(b"[null]"),
        _b64(b"[1, 2]"),
        _b64(b'["\\ud800"]'),
    ],
    ids=[
        "empty",
        "symbols",
        "percent",
        "non-ascii",
        "padding",
        "impossible-length",
        "huge",
        "non-utf8",
        "not-json",
        "object",
        "empty-list",
        "superscript-escaped",
        "superscript",
        "beyond-64-bits",
        "u64-max",
        "i64-max-plus-one",
        "negative",
        "fraction",
        "infinite",
        "bool",
        "null",
        "too-many-parts",
        "lone-surrogate",
    ],
)
def test_a_malformed_number_cursor_is_a_400_not_a_crash(token: str) -> None:
    with pytest.raises(MalformedCursor) as raised:
        SEQ.decode(token)

    assert raised.value.status == 400
    assert "cursor" in raised.value.detail


def test_the_largest_64_bit_integer_still_round_trips() -> None:
    assert SEQ.decode(SEQ.encode([2**63 - 1])) == [2**63 - 1]


@pytest.mark.parametrize(
    "payload",
    [b'[5, "not-a-uuid"]', b'["5", "0190a0a0-0000-7000-8000-000000000000"]', b"[5, null]"],
    ids=["bad-id", "number-as-text", "null-id"],
)
def test_a_part_of_the_wrong_kind_is_refused(payload: bytes) -> None:
    with pytest.raises(MalformedCursor):
        ROWS.decode_position(_b64(payload))


def test_a_position_of_the_wrong_arity_cannot_be_encoded() -> None:
    with pytest.raises(ValueError):
        ROWS.encode([1])


SCORES = CursorCodec(Number(minimum=0.0, maximum=1.0), Text(min_length=1))


def test_a_score_part_round_trips() -> None:
    token = SCORES.encode_position(Cursor(value=0.875, id="pair-1"))
    assert SCORES.decode_position(token) == Cursor(value=0.875, id="pair-1")


@pytest.mark.parametrize("score", [True, 1.5, -0.1, "0.5", None, 1e400])
def test_a_score_part_refuses_what_is_not_a_score(score: object) -> None:
    raw = orjson.dumps([score, "pair-1"]) if score != 1e400 else b'[1e400, "pair-1"]'
    with pytest.raises(MalformedCursor):
        SCORES.decode(_b64(raw))
