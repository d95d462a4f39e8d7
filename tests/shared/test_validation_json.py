"""Free-form JSON objects: bounded depth and size, only values every store holds."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from crm_shared import validation
from crm_shared.validation import (
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    JsonObject,
    json_problem,
    json_problem_at,
)


class _Body(BaseModel):
    data: JsonObject


def _nested(levels: int) -> Any:
    data: Any = 1
    for _ in range(levels):
        data = {"a": data}
    return data


def test_an_ordinary_object_passes_unchanged() -> None:
    data = {"id": "x", "n": 2**63 - 1, "f": 1.5, "ok": True, "list": [1, "two", None, {"k": []}]}
    assert _Body(data=data).data == data
    assert json_problem(data) is None


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"a": [{"b": 10**20}]}, "a.0.b"),
        ({"note": "\ud800"}, "note"),
        ({"a": {"b\x00": 1}}, "a"),
        ({"x": float("inf")}, "x"),
        (_nested(300), "a.a.a"),
    ],
    ids=["integer above 64 bits", "lone surrogate", "NUL in a key", "infinity", "300 levels"],
)
def test_what_no_store_holds_is_refused_naming_where(data: Any, where: str) -> None:
    problem = json_problem(data)
    assert problem is not None and problem.startswith(where)
    with pytest.raises(ValidationError) as raised:
        _Body(data=data)
    assert raised.value.errors()[0]["loc"] == ("data",)
    assert where in raised.value.errors()[0]["msg"]


def test_depth_is_bounded_and_the_path_is_cut_at_the_limit() -> None:
    assert json_problem_at(_nested(MAX_JSON_DEPTH - 1)) is None
    found = json_problem_at(_nested(10_000))
    assert found is not None
    loc, rule = found
    assert len(loc) == MAX_JSON_DEPTH + 1 and str(MAX_JSON_DEPTH) in rule


def test_size_is_bounded() -> None:
    with pytest.raises(ValidationError, match=f"at most {MAX_JSON_BYTES} bytes"):
        _Body(data={"blob": "x" * MAX_JSON_BYTES})


def test_the_problem_never_quotes_the_value() -> None:
    problem = json_problem({"email": "ada@example.com\x00"})
    assert problem is not None and "ada@example.com" not in problem


@pytest.mark.parametrize(
    "data",
    [
        _nested(MAX_JSON_DEPTH),
        _nested(MAX_JSON_DEPTH + 1),
        {"n": 2**63},
        {"n": -(2**63) - 1},
        {"n": -(2**63), "m": 2**63 - 1},
        {"x": float("nan")},
        {"ok": "fine", "later": ["also fine", {"k\ud800": 1}]},
        {"a": "\ud83d", "b": "\ude00"},  # two halves of one emoji in separate strings
        {"tuple": ("a", "b\x00")},
        {"tuple": ("a", "b")},
        {"deep": [[[[[]]]]], "empty": {}},
        {"n": 2**64 - 1},
        {"x": float("-inf")},
        {"text": "spells \\u0000 and :1234567890123456789"},
        {1: "a key that is not text"},
        {"nul key\x00": 1},
        [{"a": [1, 2.5, None, True]}] * 20,
    ],
    ids=[
        "at the depth limit",
        "one level past it",
        "2**63",
        "below -2**63",
        "the int64 bounds themselves",
        "NaN",
        "a lone surrogate in a nested key",
        "surrogate halves split across strings",
        "NUL in a tuple",
        "a clean tuple",
        "empty containers",
        "2**64 - 1 (orjson writes it)",
        "minus infinity",
        "text that spells NUL and a long integer",
        "a key that is not text",
        "NUL in a key",
        "more brackets than the depth limit, nested shallowly",
    ],
)
def test_the_quick_pass_agrees_with_the_walk_that_names_the_place(
    data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quick pass may only say 'storable' where the path-tracking walk finds nothing."""
    found = json_problem_at(data)
    # The walk alone, as json_problem_at answered before it had a quick pass.
    monkeypatch.setattr(validation, "_plainly_storable", lambda value, max_depth: False)
    assert found == json_problem_at(data)


def test_the_quick_pass_answers_for_a_plain_document_without_the_walk() -> None:
    """An ordinary document (text, numbers, lists, maps, nulls) is passed by the quick pass."""
    doc = {
        "id": "0192",
        "name": "Zoë Ødegaard",
        "version": 3,
        "score": 0.25,
        "tags": ["vip", "source:import"],
        "custom_fields": {"size": 12, "tiers": ["a", "b"]},
        "deleted_at": None,
        "active": True,
        "count": 2**53 - 1,
    }
    assert validation._plainly_storable(doc, MAX_JSON_DEPTH)
