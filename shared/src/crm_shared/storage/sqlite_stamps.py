"""Timestamps in the SQLite adapter: canonical UTC text stored as integer microseconds.

A collection declares the top-level fields that hold canonical timestamps (`clock.iso`:
`YYYY-MM-DDTHH:MM:SS.ffffffZ`, 27 characters; `CollectionSpec.timestamps`). The stored JSON
holds such a value as the microseconds since 1970-01-01T00:00:00Z (a 16-17 digit integer, ~10
bytes less than the quoted text), and each entry of an index on the field holds an 8-byte
integer instead of the 27-byte text. Integers sort as the canonical text does (fixed width, most
significant first), so pages, ranges and cursors answer exactly as before: every condition on
a declared field binds the integer (`param`, `range_param`). Reads give the text back.

A value that is not canonical text (a caller wrote something else) is stored as it is and reads
back unchanged: other text stays text; a number, boolean, list or object is wrapped as
`{"~": value}`, so no stored integer is ever anything but a timestamp. SQLite sorts every
INTEGER before every TEXT, so such a value sorts after every timestamp (among themselves: text
order of the text, or of the wrapped value's JSON); a range's bound that is not canonical text
(`gt=""`: "any timestamp") selects the timestamps text order would. MongoDB and the memory store
keep the text and compare it as text: the same answers for timestamps, and for other values that
sort after digits (a letter first).
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

_EPOCH_DAY = date(1970, 1, 1).toordinal()
_DAY_MICROS = 86_400_000_000
# The first and last instants canonical text can name (years 0001 to 9999).
FIRST_MICROS = (date.min.toordinal() - _EPOCH_DAY) * _DAY_MICROS
LAST_MICROS = (date.max.toordinal() - _EPOCH_DAY + 1) * _DAY_MICROS - 1
# The key a stored value that is not a timestamp, text or null is wrapped under.
WRAP = "~"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# The separators of canonical text at characters 4, 7, ..., 19 (`text[4:20:3]`).
_SEPARATORS = "--T::."
# Dates met so far: a store's documents share few days, and a date is half of the text's work.
_CACHE_LIMIT = 100_000
_date_of: dict[int, str] = {}
# Texts and integers converted lately, each with the other.
_RECENT_LIMIT = 4096
_micros_of: dict[str, int] = {}
_text_of: dict[int, str] = {}
# "THH:MM:" of each minute of a day, and "SS." of each second of a minute.
_HOUR_MINUTE = tuple("T%02d:%02d:" % divmod(minute, 60) for minute in range(1440))  # noqa: UP031
_SECOND = tuple(f"{second:02d}." for second in range(60))


def stamp_micros(value: object) -> int | None:
    """The microseconds since the epoch canonical text names; None for any other value."""
    if type(value) is not str:
        return None
    # A document's created_at and updated_at are often the same text (a new contact's are).
    micros = _micros_of.get(value)
    if micros is not None:
        return micros
    if len(value) != 27 or value[4:20:3] != _SEPARATORS or value[26] != "Z" or not value.isascii():
        return None
    # With every separator in place, fromisoformat (C) accepts only ASCII digits between them,
    # a real date, hours 0-23, minutes and seconds 0-59: exactly canonical text.
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    micros = (moment - _EPOCH) // _MICROSECOND
    if len(_micros_of) >= _RECENT_LIMIT:
        _micros_of.clear()
    _micros_of[value] = micros
    return micros


def stamp_text(micros: int) -> str:
    """The canonical text of an instant in microseconds since the epoch (years 0001-9999)."""
    day, rest = divmod(micros, _DAY_MICROS)
    text = _date_of.get(day)
    if text is None:
        text = date.fromordinal(day + _EPOCH_DAY).isoformat()
        if len(_date_of) >= _CACHE_LIMIT:
            _date_of.clear()
        _date_of[day] = text
    minute, rest = divmod(rest, 60_000_000)
    second, fraction = divmod(rest, 1_000_000)
    # Hours, minutes and seconds from tables: 0.66 us a value instead of 1.1 with %02d each.
    return f"{text}{_HOUR_MINUTE[minute]}{_SECOND[second]}{fraction:06d}Z"


def stored_stamp(value: Any) -> Any:
    """A declared field's value as stored: canonical text as its integer, other values kept."""
    micros = stamp_micros(value)
    if micros is not None:
        return micros
    if value is None or type(value) is str:
        return value
    return {WRAP: value}


def read_stamp(stored: Any) -> Any:
    """A declared field's stored value as written (the inverse of `stored_stamp`)."""
    if type(stored) is int:
        # Pages read again and again (a listing's first ones) find their texts made already.
        text = _text_of.get(stored)
        if text is None:
            text = stamp_text(stored)
            if len(_text_of) >= _RECENT_LIMIT:
                _text_of.clear()
            _text_of[stored] = text
        return text
    if type(stored) is dict:
        return stored[WRAP]
    return stored


def param(value: Any) -> Any:
    """A value to compare a declared field with, as SQLite reads the stored one (json_extract)."""
    stored = stored_stamp(value)
    return orjson.dumps(stored).decode() if type(stored) is dict else stored


def range_param(op: str, bound: Any) -> tuple[str, Any]:
    """The operator and parameter of a range's bound on a declared field.

    A text bound that is not canonical compares with timestamps as text does: after it come
    exactly the timestamps from the first one greater than it on (`gt=""`: all of them).
    """
    if type(bound) is not str or stamp_micros(bound) is not None:
        return op, param(bound)
    return (">=" if op in (">", ">=") else "<"), first_after(bound)


@functools.lru_cache(maxsize=256)
def first_after(text: str) -> int:
    """The first instant whose canonical text is greater than `text` (after the last: past it)."""
    low, high = FIRST_MICROS, LAST_MICROS + 1
    while low < high:  # ~58 halvings of the years 0001-9999
        middle = (low + high) // 2
        if stamp_text(middle) > text:
            high = middle
        else:
            low = middle + 1
    return low


def stamp_json_sql(path: str) -> str:
    """SQL giving a declared field of `doc` at the JSON path `path` as JSON, as it was written:
    an integer as its canonical text, a wrapped value unwrapped, anything else as stored."""
    micros = f"(doc ->> '{path}')"
    fraction = f"(({micros} % 1000000 + 1000000) % 1000000)"  # floored, for instants before 1970
    # datetime() and a T for its space: ~0.3 us a row less than strftime with a T in its format.
    seconds = f"datetime(({micros} - {fraction}) / 1000000, 'unixepoch')"
    text = f"replace({seconds}, ' ', 'T') || printf('.%06dZ', {fraction})"
    return (
        f"CASE json_type(doc, '{path}') WHEN 'integer' THEN json_quote({text}) "
        f"WHEN 'object' THEN doc -> '{path}' -> '$.{WRAP}' ELSE doc -> '{path}' END"
    )
