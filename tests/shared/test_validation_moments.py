"""Moments: ISO-8601 text with an offset, years 1900-2200, never a number; stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from crm_shared.validation import LenientMoment, Moment


class _Body(BaseModel):
    occurred_at: Moment


class _Filter(BaseModel):
    after: LenientMoment | None = None


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:59:59-14:00",  # past year 9999 once in UTC: an OverflowError before
        "0001-01-01T00:00:00+14:00",  # before year 1 once in UTC
        "2201-01-01T00:00:00Z",
        "1899-12-31T23:59:59Z",
        0,
        1700000000,
        "0",
        "1700000000",
        "2026-01-31T09:00:00",  # no offset
        "not a date",
    ],
)
def test_bad_moments_are_refused_naming_the_field(value: object) -> None:
    with pytest.raises(ValidationError) as raised:
        _Body(occurred_at=value)  # type: ignore[arg-type]
    assert raised.value.errors()[0]["loc"] == ("occurred_at",)


def test_a_moment_with_an_offset_is_normalised_to_utc() -> None:
    moment = _Body(occurred_at="2026-01-01T01:30:00+02:00").occurred_at  # type: ignore[arg-type]
    assert moment == datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    assert moment.tzinfo is UTC


def test_the_range_edges_pass() -> None:
    assert _Body(occurred_at="1900-01-01T00:00:00Z").occurred_at.year == 1900  # type: ignore[arg-type]
    assert _Body(occurred_at="2200-12-31T23:59:59Z").occurred_at.year == 2200  # type: ignore[arg-type]


def test_a_filter_moment_without_offset_is_utc_and_bounded_too() -> None:
    assert _Filter(after="2026-01-31").after == datetime(2026, 1, 31, tzinfo=UTC)  # type: ignore[arg-type]
    assert _Filter(after="2999-01-01T00:00:00Z").after.year == 2999  # type: ignore[arg-type, union-attr]
    for overflowing in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"):
        with pytest.raises(ValidationError, match="years 1 to 9999"):
            _Filter(after=overflowing)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        _Filter(after=0)  # type: ignore[arg-type]
