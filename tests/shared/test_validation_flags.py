"""Booleans are true/false (or their query-string spelling), never a number."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from crm_shared.validation import FLAG_RULE, Flag


class _Body(BaseModel):
    deleted: Flag = False


@pytest.mark.parametrize("value", [0, 1, 0.0, 1.0])
def test_a_number_is_refused_naming_the_field(value: float) -> None:
    with pytest.raises(ValidationError) as raised:
        _Body(deleted=value)  # type: ignore[arg-type]
    [error] = raised.value.errors()
    assert error["loc"] == ("deleted",) and FLAG_RULE in error["msg"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), ("false", False), ("1", True), ("0", False)],
)
def test_booleans_and_query_text_pass(value: object, expected: bool) -> None:
    assert _Body(deleted=value).deleted is expected  # type: ignore[arg-type]
