"""Bulk-action rules without I/O: parameters per action, counting outcomes, tag edits."""

from __future__ import annotations

import pytest

from crm_contacts.domain.bulk import checked_params, counted, new_job
from crm_contacts.domain.tags import edited_tags
from crm_shared.problems import Unprocessable


@pytest.mark.parametrize(
    ("action", "params", "named"),
    [
        ("add_tags", {}, "params.tags"),
        ("remove_tags", {"tags": []}, "params.tags"),
        ("add_tags", {"tags": [f"t{n}" for n in range(51)]}, "at most 50"),
        ("assign_owner", {}, "params.owner"),
        ("assign_owner", {"owner": 3}, "params.owner"),
        ("add_to_campaign", {"campaign_id": ""}, "params.campaign_id"),
        ("export", {"fields": "name"}, "params.fields"),
    ],
)
def test_missing_or_malformed_parameters_are_named(
    action: str, params: dict[str, object], named: str
) -> None:
    with pytest.raises(Unprocessable, match=named):
        checked_params(action, params)


def test_parameters_keep_only_what_the_action_uses() -> None:
    assert checked_params("delete", {"tags": ["x"]}) == {}
    assert checked_params("assign_owner", {"owner": None}) == {"owner": None}
    assert checked_params("export", {})["fields"][0] == "id"


def test_a_chunk_adds_its_outcomes_and_moves_the_position() -> None:
    job = new_job(
        job_id="j",
        tenant="t",
        actor="a",
        action="delete",
        params={},
        ids=["x"],
        filter_doc=None,
        now="2026-01-01T00:00:00Z",
    )
    after = counted(job, ["succeeded", "failed", "skipped", "succeeded"])
    assert (after["processed"], after["succeeded"], after["failed"], after["skipped"]) == (
        4,
        2,
        1,
        1,
    )
    assert after["position"] == 1


def test_tag_edits_fold_names_and_keep_the_order() -> None:
    assert edited_tags(["VIP", "Lead"], ["vip", "Customer"], ["LEAD"]) == ["VIP", "Customer"]
    assert edited_tags(["A"], ["B"], ["b"]) == ["A"]
