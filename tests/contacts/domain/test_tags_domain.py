"""Tag kinds on writes, system tags, renames: pure rules without I/O."""

from __future__ import annotations

import pytest

from crm_contacts.domain.errors import InvalidFields
from crm_contacts.domain.tags import (
    TagBook,
    TagInfo,
    replace_tag,
    resolve_requested_tags,
    system_tags_for,
    with_system_tags,
)

BOOK_TAGS = [
    TagInfo("VIP", "manual"),
    TagInfo("Big account", "auto"),
    TagInfo("source:manual", "system"),
]


def _book() -> TagBook:
    return TagBook(BOOK_TAGS)


def test_system_tags_follow_the_source() -> None:
    assert system_tags_for({"source": "chat"}) == ["source:chat"]
    assert system_tags_for({"source": "import"}) == ["source:import", "imported"]


def test_requested_tags_take_the_known_spelling_and_new_ones_are_recorded() -> None:
    book = _book()
    tags = resolve_requested_tags(["vìp", "Lead"], current=[], platform=[], book=book)
    assert tags == ["VIP", "Lead"]
    assert [t.name for t in book.created.values()] == ["Lead"]


def test_a_failed_request_records_no_new_tag() -> None:
    book = _book()
    with pytest.raises(InvalidFields):
        resolve_requested_tags(["Lead", "imported"], current=[], platform=[], book=book)
    assert book.created == {}


def test_dropping_a_carried_system_tag_is_refused_unless_merging() -> None:
    current = ["VIP", "source:manual"]
    with pytest.raises(InvalidFields) as caught:
        resolve_requested_tags(["VIP"], current=current, platform=[], book=_book())
    assert "'source:manual' is a system tag" in caught.value.detail
    merged = resolve_requested_tags(
        ["Lead"], current=current, platform=[], book=_book(), merge=True
    )
    assert merged == ["Lead"]


def test_adding_an_auto_tag_is_refused_and_sending_a_carried_one_is_ignored() -> None:
    with pytest.raises(InvalidFields) as caught:
        resolve_requested_tags(["Big account"], current=[], platform=[], book=_book())
    assert "auto tag set by tag rules" in caught.value.detail
    kept = resolve_requested_tags(
        ["Big account", "VIP"], current=["Big account"], platform=[], book=_book(), merge=True
    )
    assert kept == ["VIP"]


def test_imports_leave_managed_tags_to_the_platform() -> None:
    tags = resolve_requested_tags(
        ["source:chat", "Big account", "Lead"],
        current=[],
        platform=["source:import"],
        book=_book(),
        merge=True,
        skip_managed=True,
    )
    assert tags == ["Lead"]


def test_with_system_tags_adds_the_missing_ones_and_replaces_a_stale_source() -> None:
    book = TagBook([TagInfo("source:chat", "system")])
    tags = with_system_tags(["VIP", "source:chat"], {"source": "form"}, book)
    assert tags == ["VIP", "source:form"]


def test_replace_tag_renames_and_merges_with_an_equal_name() -> None:
    assert replace_tag(["vip", "Lead"], "VIP", "Gold") == ["Gold", "Lead"]
    assert replace_tag(["vip", "Gold"], "VIP", "gold") == ["gold"]
    assert replace_tag(["vip", "Lead"], "Vìp", None) == ["Lead"]
