"""Canonical timestamps as integer microseconds (sqlite_stamps.py): the conversion both ways."""

from __future__ import annotations

import random
import sqlite3
import string
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from crm_shared.clock import iso
from crm_shared.storage.sqlite_stamps import (
    FIRST_MICROS,
    LAST_MICROS,
    first_after,
    param,
    range_param,
    read_stamp,
    stamp_json_sql,
    stamp_micros,
    stamp_text,
    stored_stamp,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _moment(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def test_random_instants_convert_as_datetime_formats_and_counts_them() -> None:
    rng = random.Random(20261201)
    for _ in range(20_000):
        micros = rng.randint(FIRST_MICROS, LAST_MICROS)
        text = iso(_moment(micros))
        assert stamp_text(micros) == text
        assert stamp_micros(text) == micros


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2024, 2, 29, 12, 0, 0, 1, tzinfo=UTC),
        datetime(2000, 2, 29, tzinfo=UTC),
        datetime(1600, 2, 29, 23, 59, 59, tzinfo=UTC),
        datetime(2025, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    ],
)
def test_edges_and_leap_days_round_trip(moment: datetime) -> None:
    text = iso(moment)
    micros = stamp_micros(text)
    assert micros == (moment - EPOCH) // timedelta(microseconds=1)
    assert stamp_text(micros) == text


def test_integer_order_is_text_order() -> None:
    rng = random.Random(7)
    values = [rng.randint(FIRST_MICROS, LAST_MICROS) for _ in range(2_000)]
    assert sorted(values, key=stamp_text) == sorted(values)


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-01",  # a date alone
        "2025-01-01T00:00:00Z",  # no fraction
        "2025-01-01T00:00:00.000000+00:00",
        "2025-01-01 00:00:00.000000Z",  # a space for the T
        "2025-01-01T00:00:00,000000Z",  # a comma for the point
        "2025-01-01T123456.12345678Z",  # basic time, 27 characters too
        "2025-02-29T00:00:00.000000Z",  # no such day
        "2025-01-01T24:00:00.000000Z",
        "2025-01-01T00:60:00.000000Z",
        "2025-01-01T00:00:60.000000Z",  # no leap second
        "0000-01-01T00:00:00.000000Z",
        "2025-01-01T00:00:00.00000٣Z",  # a digit, but not ASCII
        "+025-01-01T00:00:00.000000Z",
        "2025-01-01t00:00:00.000000z",
        "",
        None,
        1735689600000000,
        ["2025-01-01T00:00:00.000000Z"],
    ],
)
def test_anything_but_canonical_text_is_not_a_timestamp(value: object) -> None:
    assert stamp_micros(value) is None


def test_a_value_read_as_a_timestamp_is_exactly_its_canonical_text() -> None:
    # Every one-character change of canonical text is either refused or canonical itself.
    rng = random.Random(3)
    alphabet = string.printable + "٣²ⅷ"
    accepted = 0
    for _ in range(20_000):
        text = stamp_text(rng.randint(FIRST_MICROS, LAST_MICROS))
        at = rng.randrange(len(text))
        changed = text[:at] + rng.choice(alphabet) + text[at + 1 :]
        micros = stamp_micros(changed)
        if micros is not None:
            accepted += 1
            assert stamp_text(micros) == changed
    assert accepted > 0  # digits changed into other digits


@pytest.mark.parametrize(
    "value",
    [
        "2025-06-01T08:00:00.000000Z",
        None,
        "",
        "soon",
        "2025-01-01",
        0,
        1735689600000000,
        1.5,
        True,
        ["2025-06-01T08:00:00.000000Z"],
        {},
        {"~": 1},
        {"at": "2025-06-01T08:00:00.000000Z"},
    ],
)
def test_every_value_is_stored_so_it_reads_back_unchanged(value: object) -> None:
    stored = stored_stamp(value)
    assert read_stamp(stored) == value and type(read_stamp(stored)) is type(value)
    # Only a timestamp is stored as an integer.
    assert (type(stored) is int) == (stamp_micros(value) is not None)


def test_a_timestamp_binds_its_integer_and_other_values_their_stored_json() -> None:
    assert param("1970-01-01T00:00:01.000000Z") == 1_000_000
    assert param("soon") == "soon"
    assert param(5) == '{"~":5}'
    assert param(None) is None


def test_a_bound_that_is_not_a_timestamp_selects_what_text_order_would() -> None:
    assert range_param(">", "") == (">=", FIRST_MICROS)  # every timestamp
    assert range_param("<=", "") == ("<", FIRST_MICROS)  # none
    day = stamp_micros("2025-01-01T00:00:00.000000Z")
    assert range_param(">=", "2025-01-01") == (">=", day)
    assert range_param("<", "2025-01-01") == ("<", day)
    assert range_param(">", "2025-01-01T00:00:00.000000Z") == (">", day)
    assert first_after("9999-12-31T23:59:59.999999Z") == LAST_MICROS + 1
    assert first_after("z") == LAST_MICROS + 1
    rng = random.Random(5)
    for _ in range(200):
        text = stamp_text(rng.randint(FIRST_MICROS, LAST_MICROS))[: rng.randint(0, 26)]
        after = first_after(text)
        assert stamp_text(after) > text and (after == FIRST_MICROS or stamp_text(after - 1) <= text)


def test_the_sql_of_a_projection_gives_every_stored_value_as_written() -> None:
    rng = random.Random(11)
    edges = [FIRST_MICROS, LAST_MICROS, -1, 0, 1, stamp_micros("2024-02-29T23:59:59.999999Z")]
    instants = [stamp_text(m) for m in edges] + [
        stamp_text(rng.randint(FIRST_MICROS, LAST_MICROS)) for _ in range(2_000)
    ]
    values: list[object] = [*instants, "soon", "", 5, 2.5, True, [1], {"a": None}, None]
    db = sqlite3.connect(":memory:")
    try:
        read = f"SELECT json_object('v', {stamp_json_sql('$.v')}) FROM (SELECT ? AS doc)"
        for value in values:
            stored = orjson.dumps({"v": stored_stamp(value)}).decode()
            assert orjson.loads(db.execute(read, (stored,)).fetchone()[0]) == {"v": value}
        absent = db.execute(read, ("{}",)).fetchone()[0]
    finally:
        db.close()
    assert orjson.loads(absent) == {"v": None}
