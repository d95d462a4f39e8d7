"""Classes of input every edge refuses, defined once: each is a 422 naming the field.

Every store we run holds signed 64-bit integers and UTF-8 text, and JSON nests as deep as a
parser's stack. So, wherever a value enters (HTTP bodies and query parameters, Kafka commands
and events):

- integers are bounded to signed 64 bits (`Int64`);
- text holds no NUL and no lone surrogate (`"\\ud800"` is valid JSON but not UTF-8) (`Text`);
- free-form JSON objects are bounded in depth and size, and hold only the above (`JsonObject`);
- a boolean in a JSON body is `true` or `false`, never a number or text (`Flag`); in a query
  string, one of its usual spellings (`query_flag`);
- a moment is ISO-8601 text with an offset, in the years 1900-2200, never a number (`Moment`);
  a filter's bound may be any moment UTC can express (`LenientMoment`).

`check_json` is also what a writer uses to refuse a document no store can hold.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MIN_YEAR = 1900
MAX_YEAR = 2200
MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 64 * 1024

# NUL and the surrogate code points: neither encodes to UTF-8 (SQLite, BSON, orjson all refuse).
_FORBIDDEN_CHARS = re.compile("[\x00\ud800-\udfff]")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}([Tt ].*)?", re.ASCII)
# RFC 3339's date-time, what `format: date-time` in an OpenAPI document means: offset required.
_RFC3339_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)

TEXT_RULE = "must not contain NUL or unpaired surrogate characters"
INT_RULE = f"must be an integer between {INT64_MIN} and {INT64_MAX}"
FLAG_RULE = "must be true or false (a JSON boolean), not a number or text"
QUERY_FLAG_RULE = "must be true or false"
MOMENT_RULE = "must be an ISO-8601 date-time text, not a number"
QUERY_MOMENT_RULE = "must be an RFC 3339 date-time with an offset, such as 2026-01-31T09:00:00Z"
YEAR_RULE = f"must be between the years {MIN_YEAR} and {MAX_YEAR}"


def is_clean_text(value: str) -> bool:
    """True when `value` encodes to UTF-8 and holds no NUL."""
    return _FORBIDDEN_CHARS.search(value) is None


def scrub_text(value: str) -> str:
    """`value` with NUL and lone surrogates replaced by U+FFFD (for records that must be kept)."""
    return _FORBIDDEN_CHARS.sub("\ufffd", value)


def check_text(value: str) -> str:
    """`value` unchanged, or ValueError when it holds NUL or a lone surrogate."""
    if not is_clean_text(value):
        raise ValueError(TEXT_RULE)
    return value


def is_int64(value: int) -> bool:
    """True when `value` fits a signed 64-bit integer."""
    return INT64_MIN <= value <= INT64_MAX


def check_int64(value: int) -> int:
    """`value` unchanged, or ValueError beyond signed 64 bits."""
    if not is_int64(value):
        raise ValueError(INT_RULE)
    return value


Loc = tuple[str | int, ...]


def json_problem_at(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> tuple[Loc, str] | None:
    """Where (a path of keys and indexes) and why no store can hold `value`; None if all can.

    Refused: text with NUL or lone surrogates (keys too), integers beyond 64 bits, non-finite
    numbers, nesting deeper than `max_depth`. Iterative, so any depth is walked safely.
    """
    if _plainly_storable(value, max_depth):
        return None  # the usual answer, found without tracking where each part is
    stack: list[tuple[Any, Loc]] = [(value, ())]
    while stack:
        item, loc = stack.pop()
        if len(loc) > max_depth:
            return loc[: max_depth + 1], f"must nest at most {max_depth} levels"
        if isinstance(item, str):
            if not is_clean_text(item):
                return loc, TEXT_RULE
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not is_int64(item):
                return loc, INT_RULE
        elif isinstance(item, float):
            if not math.isfinite(item):
                return loc, "must be a finite number"
        elif isinstance(item, Mapping):
            for key, child in item.items():
                if not isinstance(key, str) or not is_clean_text(key):
                    return loc, f"keys {TEXT_RULE}"
                stack.append((child, (*loc, key)))
        elif isinstance(item, list | tuple):
            stack.extend((child, (*loc, n)) for n, child in enumerate(item))
    return None


def _plainly_storable(value: Any, max_depth: int) -> bool:
    """True when `value` is plain JSON (dict, list, str, int, float, bool, None) a store can hold.

    The quick first pass of `json_problem_at`, run on every imported contact, so it leaves the
    walking to orjson's C encoder and decoder: encoding refuses lone surrogates (text and keys),
    keys that are not text, unknown types and (strict) integers beyond 53 bits; decoding the
    bytes again must give back an equal value (a non-finite float comes back as null, a tuple as
    a list). NUL is read off the bytes (written `\\u0000`), and the nesting is at most the number
    of brackets. Any doubt (also a 60-bit integer, or text that spells `\\u0000`) says False, and
    the caller walks to find where and why.
    """
    try:
        encoded = orjson.dumps(value, option=orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError:
        return False
    if b"\\u0000" in encoded:
        return False
    if encoded.count(b"{") + encoded.count(b"[") > max_depth:
        return False
    return bool(orjson.loads(encoded) == value)


def json_problem(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """`json_problem_at` as text (`a.b.2: rule`), never quoting the value (it may be personal)."""
    found = json_problem_at(value, max_depth=max_depth)
    if found is None:
        return None
    loc, rule = found
    return f"{'.'.join(str(part) for part in loc) or 'value'}: {rule}"


def check_json(
    value: dict[str, Any], *, max_depth: int = MAX_JSON_DEPTH, max_bytes: int = MAX_JSON_BYTES
) -> dict[str, Any]:
    """`value` unchanged, or ValueError naming the part no store can hold, too deep or too big."""
    problem = json_problem(value, max_depth=max_depth)
    if problem is not None:
        raise ValueError(problem)
    if len(orjson.dumps(value)) > max_bytes:
        raise ValueError(f"must be at most {max_bytes} bytes as JSON")
    return value


def _json_boolean(value: Any) -> Any:
    # Pydantic's lax mode would read 0, 1, "yes", "off" as booleans; the schema says boolean.
    if not isinstance(value, bool):
        raise ValueError(FLAG_RULE)
    return value


_QUERY_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def query_flag(text: str) -> bool:
    """A query-string boolean (`true`/`false`, `1`/`0`, `yes`/`no`), or ValueError."""
    try:
        return _QUERY_FLAGS[text.strip().lower()]
    except KeyError:
        raise ValueError(QUERY_FLAG_RULE) from None


def _moment_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date) or not isinstance(value, str):
        raise ValueError(MOMENT_RULE)
    if not _ISO_MOMENT.fullmatch(value.strip()):
        raise ValueError("must be an ISO-8601 date-time such as 2026-01-31T09:00:00Z")
    return value


def _rfc3339_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339_DATE_TIME.fullmatch(value):
        raise ValueError(QUERY_MOMENT_RULE)
    return value


def check_moment(value: datetime) -> datetime:
    """`value` within the years 1900-2200 (its offset applied), or ValueError; never overflows."""
    # Checked before any conversion: 9999-12-31T23:59:59-14:00 is past year 9999 in UTC.
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(YEAR_RULE)
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValueError(YEAR_RULE)
    return value


def utc_unless_told(value: datetime) -> datetime:
    """A moment without an offset read as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def in_utc(value: datetime) -> datetime:
    """`value` in UTC, or ValueError when that falls outside years 1-9999 (no OverflowError)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must fall within the years 1 to 9999 in UTC") from None


# Signed 64-bit integer (no bool, no float with a fraction: pydantic's int rules).
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
# Text that every store can hold; Field lengths apply. With StringConstraints, put them first:
# `Annotated[str, StringConstraints(...), CLEAN_TEXT]` (after the validator they are not checked).
CLEAN_TEXT = AfterValidator(check_text)
Text = Annotated[str, CLEAN_TEXT]
# A free-form JSON object: at most 32 levels, 64 KiB as JSON, holding only storable values.
JsonObject = Annotated[dict[str, Any], AfterValidator(check_json)]
# A boolean of a JSON body: true or false, nothing else. Every request model's boolean is one
# (tests/test_request_types.py); query parameters spell booleans as text (`query_flag`).
JSON_BOOLEAN = BeforeValidator(_json_boolean)
Flag = Annotated[bool, JSON_BOOLEAN]
# A moment with an offset, ISO-8601 text in the years 1900-2200, in UTC.
Moment = Annotated[AwareDatetime, BeforeValidator(_moment_text), AfterValidator(check_moment)]
# A bound of a range (filters): a missing offset means UTC (`2026-01-31` is midnight UTC), and
# any moment UTC can express is a valid bound (`2999-01-01` matches nothing yet, fine).
LenientMoment = Annotated[
    datetime,
    BeforeValidator(_moment_text),
    AfterValidator(utc_unless_told),
    AfterValidator(in_utc),
]
# A query parameter's moment, as its schema (`format: date-time`) says: RFC 3339 text with an
# offset, nothing looser (no timestamp, no bare date); any moment UTC can express, in UTC.
# Every date-time query parameter is one (tests/test_request_types.py).
QUERY_MOMENT = BeforeValidator(_rfc3339_text)
QueryMoment = Annotated[AwareDatetime, QUERY_MOMENT, AfterValidator(in_utc)]
