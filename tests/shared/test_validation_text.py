"""Text every store holds: NUL and lone surrogates are refused, other text passes unchanged."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from crm_shared.validation import TEXT_RULE, Text, check_text, is_clean_text, scrub_text


class _Body(BaseModel):
    name: Text


@pytest.mark.parametrize("value", ["\ud800", "a\udfffb", "nul\x00", "\udbff\udc00"])
def test_nul_and_surrogates_are_refused_naming_the_field(value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        _Body(name=value)
    [error] = raised.value.errors()
    assert error["loc"] == ("name",)
    assert TEXT_RULE in error["msg"]


@pytest.mark.parametrize("value", ["", "Zoë", "名前", "emoji 🎉", "tab\tnewline\n", "\ufffd"])
def test_any_encodable_text_passes_unchanged(value: str) -> None:
    assert _Body(name=value).name == value
    assert is_clean_text(value)
    assert check_text(value) == value


def test_scrub_replaces_what_cannot_be_stored_and_nothing_else() -> None:
    assert scrub_text("a\x00b\ud800c é") == "a\ufffdb\ufffdc é"
    assert scrub_text("plain").encode() == b"plain"
