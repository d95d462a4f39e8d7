"""Booleans of JSON bodies are true/false, never a number or text; query strings spell them."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from crm_shared.validation import FLAG_RULE, Flag, query_flag


class _Body(BaseModel):
    deleted: Flag = False


@pytest.mark.parametrize("value", [0, 1, 0.0, 1.0, "true", "false", "1", "yes", None])
def test_a_number_or_text_is_refused_naming_the_field(value: object) -> None:
    with pytest.raises(ValidationError) as raised:
        _Body(deleted=value)  # type: ignore[arg-type]
    [error] = raised.value.errors()
    assert error["loc"] == ("deleted",) and FLAG_RULE in error["msg"]


@pytest.mark.parametrize("value", [True, False])
def test_booleans_pass(value: bool) -> None:
    assert _Body(deleted=value).deleted is value


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("false", False), ("1", True), ("0", False), ("Yes", True), ("no", False)],
)
def test_query_text_spells_a_boolean(text: str, expected: bool) -> None:
    assert query_flag(text) is expected


@pytest.mark.parametrize("text", ["", "2", "maybe", "truthy"])
def test_other_query_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="true or false"):
        query_flag(text)
