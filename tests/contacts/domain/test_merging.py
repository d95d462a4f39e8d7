"""The merge rules without I/O: winners, unions, conflicts, caps; undo's kept edits."""

from __future__ import annotations

from typing import Any

import pytest

from crm_contacts.domain.contact import new_contact
from crm_contacts.domain.errors import InvalidFields
from crm_contacts.domain.merge_records import new_merge_record, restored_primary
from crm_contacts.domain.merging import MergeRequest, merged_profile


def _doc(contact_id: str, **profile: Any) -> dict[str, Any]:
    return new_contact(
        contact_id=contact_id, tenant="acme", profile=profile, source="manual", now="t0"
    )


def test_the_first_non_empty_value_in_duplicate_order_fills_what_the_primary_lacks() -> None:
    docs = {"p": _doc("p", name="Ada"), "a": _doc("a", name="A"), "b": _doc("b", owner="u1")}
    docs["a"]["owner"] = None
    docs["b"]["timezone"] = "UTC"
    docs["a"]["timezone"] = "Europe/Paris"
    outcome = merged_profile(MergeRequest("p", ("a", "b")), docs)
    assert outcome.profile["name"] == "Ada"
    assert outcome.profile["owner"] == "u1"
    assert outcome.profile["timezone"] == "Europe/Paris"
    assert [c.field for c in outcome.conflicts] == ["name", "timezone"]


def test_system_tags_of_duplicates_are_not_carried_and_tags_compare_folded() -> None:
    docs = {
        "p": _doc("p", name="Ada", tags=["VIP", "source:manual"]),
        "a": _doc("a", name="Ada", tags=["vip", "Café", "source:import", "imported"]),
    }
    outcome = merged_profile(MergeRequest("p", ("a",)), docs)
    assert outcome.profile["tags"] == ["VIP", "source:manual", "Café"]


def test_a_union_over_the_tag_cap_is_refused_naming_the_cap() -> None:
    docs = {
        "p": _doc("p", name="Ada", tags=[f"p{i}" for i in range(30)]),
        "a": _doc("a", name="Ada", tags=[f"a{i}" for i in range(30)]),
    }
    with pytest.raises(InvalidFields, match="at most 50"):
        merged_profile(MergeRequest("p", ("a",)), docs)


def test_undo_restores_untouched_custom_keys_and_keeps_edited_ones() -> None:
    before = {
        "p": _doc("p", name="Ada", custom_fields={"plan": "free"}),
        "a": _doc("a", name="Ada", custom_fields={"plan": "pro", "seats": 3}),
    }
    after = {**before["p"], "custom_fields": {"plan": "free", "seats": 3}, "version": 2}
    record = new_merge_record(
        merge_id="m",
        tenant="acme",
        request=MergeRequest("p", ("a",)),
        before=before,
        primary_after=after,
        now="t1",
        actor="k",
    )
    current = {**after, "custom_fields": {"plan": "enterprise", "seats": 3}, "version": 3}
    back, kept = restored_primary(record, current, now="t2")
    assert back["custom_fields"] == {"plan": "enterprise"}
    assert kept == ["custom_fields.plan"]
    assert back["version"] == 4
