"""The filter's translation into storage conditions, sort orders and cursors (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm_contacts.domain.custom_fields import FieldDefinition
from crm_contacts.domain.search import conditions, sort_order, text_conditions, text_query
from crm_contacts.domain.search_cursor import cursor_key, decode_cursor, encode_cursor
from crm_shared.filters import ContactFilter, CustomFieldCondition
from crm_shared.ids import new_id
from crm_shared.problems import BadRequest, Unprocessable
from crm_shared.storage import Contains, ContainsAny, Cursor, Eq, Not, Range, TextMatch

DEFINITIONS = {
    "plan": FieldDefinition("plan", "Plan", "dropdown", options=("Free", "Pro")),
    "seats": FieldDefinition("seats", "Seats", "number"),
    "langs": FieldDefinition("langs", "Languages", "multi_select", options=("English",)),
}
KEY = cursor_key(b"secret")


def test_an_empty_filter_selects_live_contacts() -> None:
    assert conditions(ContactFilter()) == [Eq("deleted_at", None), Eq("erased_at", None)]


def test_deleted_selects_only_soft_deleted_contacts_through_an_indexable_range() -> None:
    where = conditions(ContactFilter(deleted=True))
    assert Range("deleted_at", gt="") in where
    assert Eq("deleted_at", None) not in where
    assert Eq("erased_at", None) in where


def test_include_deleted_drops_the_deleted_condition_but_never_shows_erased_or_merged() -> None:
    assert conditions(ContactFilter(), include_deleted=True) == [
        Eq("merged_into", None),
        Eq("erased_at", None),
    ]


def test_deleted_never_lists_merged_away_contacts() -> None:
    assert Eq("merged_into", None) in conditions(ContactFilter(deleted=True))


def test_tags_are_folded_and_selective_conditions_come_first() -> None:
    criteria = ContactFilter(
        email="Ada@Example.org",
        owner="user-1",
        tag=["VIP"],
        tag_any=["Événement", "b"],
        tag_none=["Churned"],
        q="Zoë",
    )
    where = conditions(criteria)
    assert where[:3] == [
        Contains("match_keys", "e:ada@example.org"),
        Eq("owner", "user-1"),
        Contains("tags_norm", "vip"),
    ]
    assert ContainsAny("tags_norm", ("evenement", "b")) in where
    assert Not(ContainsAny("tags_norm", ("churned",))) in where
    assert TextMatch("search_text", "zoe") in where


def test_time_ranges_are_inclusive_utc_text() -> None:
    moment = datetime(2026, 1, 31, 9, 30, tzinfo=UTC)
    where = conditions(ContactFilter(created_after=moment, updated_before=moment))
    assert Range("created_at", gte="2026-01-31T09:30:00.000000Z") in where
    assert Range("updated_at", lte="2026-01-31T09:30:00.000000Z") in where


def test_custom_values_are_typed_by_their_definitions() -> None:
    criteria = ContactFilter(
        custom=[
            CustomFieldCondition(key="plan", eq="pro"),
            CustomFieldCondition(key="seats", gte="10", lte="20.5"),
            CustomFieldCondition(key="langs", eq="english"),
        ]
    )
    where = conditions(criteria, DEFINITIONS)
    assert Eq("custom_fields.plan", "Pro") in where
    assert Range("custom_fields.seats", gte=10) in where
    assert Range("custom_fields.seats", lte=20.5) in where
    assert Contains("custom_fields.langs", "English") in where


@pytest.mark.parametrize(
    ("condition", "named"),
    [
        (CustomFieldCondition(key="shoe", eq="42"), "cf.shoe"),
        (CustomFieldCondition(key="seats", eq="lots"), "cf.seats"),
        (CustomFieldCondition(key="plan", gte="Free"), "cf.plan.gte"),
        (CustomFieldCondition(key="plan", contains="Free"), "cf.plan.contains"),
        (CustomFieldCondition(key="langs", contains="Klingon"), "cf.langs.contains"),
    ],
)
def test_an_inapplicable_custom_condition_is_422_naming_the_parameter(
    condition: CustomFieldCondition, named: str
) -> None:
    with pytest.raises(Unprocessable, match=named) as caught:
        conditions(ContactFilter(custom=[condition]), DEFINITIONS)
    assert caught.value.extra["parameter"] == named


@pytest.mark.parametrize(
    ("q", "searched"),
    [("Zoë  MÜLLER", "zoe muller"), ("(415) 555-01", "41555501"), ("12", "12"), ("A-1", "a-1")],
)
def test_text_query_folds_text_and_reduces_phone_numbers_to_digits(q: str, searched: str) -> None:
    assert text_query(q) == searched


@pytest.mark.parametrize(
    ("sort", "field", "descending"),
    [(None, "id", False), ("name", "name_sort", False), ("-updated_at", "updated_at", True)],
)
def test_sort_orders(sort: str | None, field: str, descending: bool) -> None:
    order = sort_order(sort)
    assert (order.field, order.descending) == (field, descending)


def test_a_cursor_round_trips_its_position() -> None:
    order = sort_order("-name")
    last_id = new_id()
    cursor = encode_cursor(order, "zoe muller", last_id, key=KEY)
    assert decode_cursor(cursor, order, key=KEY) == Cursor(value="zoe muller", id=last_id)
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor


def test_a_cursor_for_another_sort_is_refused() -> None:
    cursor = encode_cursor(sort_order("name"), "ada", new_id(), key=KEY)
    with pytest.raises(BadRequest, match="sort=name"):
        decode_cursor(cursor, sort_order("-name"), key=KEY)


def test_an_altered_cursor_is_refused() -> None:
    cursor = encode_cursor(sort_order("name"), "ada", new_id(), key=KEY)
    body, _, mac = cursor.partition(".")
    forged = encode_cursor(sort_order("name"), "zzz", new_id(), key=KEY).partition(".")[0]
    with pytest.raises(BadRequest):
        decode_cursor(f"{forged}.{mac}", sort_order("name"), key=KEY)
    with pytest.raises(BadRequest):
        decode_cursor(body, sort_order("name"), key=KEY)


def test_a_query_with_a_word_of_three_characters_searches_the_text_index() -> None:
    assert text_conditions("Ødegaard jo") == [TextMatch("search_text", "odegaard jo")]


def test_a_query_too_short_for_the_text_index_is_a_folded_name_prefix() -> None:
    [condition] = text_conditions("Øy")
    assert isinstance(condition, Range) and condition.field == "name_sort"
    assert condition.gte == "oy" and condition.lt is not None and condition.lt > "oyzzz"
    assert text_conditions("   ") == []
