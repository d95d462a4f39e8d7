"""Integers are bounded to signed 64 bits, the range every store holds."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from crm_shared.validation import INT64_MAX, INT64_MIN, Int64, check_int64, is_int64


class _Body(BaseModel):
    count: Int64


@pytest.mark.parametrize("value", [INT64_MIN, -1, 0, INT64_MAX])
def test_the_64_bit_range_passes(value: int) -> None:
    assert _Body(count=value).count == value
    assert is_int64(value)
    assert check_int64(value) == value


@pytest.mark.parametrize("value", [INT64_MAX + 1, INT64_MIN - 1, 10**20, -(10**30)])
def test_beyond_64_bits_is_refused_naming_the_field(value: int) -> None:
    with pytest.raises(ValidationError) as raised:
        _Body(count=value)
    assert raised.value.errors()[0]["loc"] == ("count",)
    with pytest.raises(ValueError, match="between"):
        check_int64(value)
