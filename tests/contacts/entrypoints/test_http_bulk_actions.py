"""`/v1/bulk-actions` over HTTP: every action, outcomes with reasons, validation, roles."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.bulk_support import results, run_bulk, seed, start_bulk
from tests.contacts.helpers import Harness


async def _get(harness: Harness, contact_id: str) -> dict[str, object]:
    response = await harness.client.get(f"/v1/contacts/{contact_id}", headers=auth(VIEWER_KEY))
    return (
        dict(response.json()) if response.status_code == 200 else {"status": response.status_code}
    )


async def test_add_tags_tags_every_selected_contact_through_the_single_edit_rules(
    harness: Harness,
) -> None:
    tagged = await harness.create(name="Has it", tags=["VIP"])
    plain = await harness.create(name="Plain")
    job = await run_bulk(
        harness, action="add_tags", ids=[tagged["id"], plain["id"]], params={"tags": ["vip"]}
    )
    assert (job["total"], job["processed"], job["succeeded"], job["skipped"]) == (2, 2, 1, 1)
    assert job["started_at"] and job["finished_at"]
    assert "VIP" in (await _get(harness, plain["id"]))["tags"]  # type: ignore[operator]
    updates = await harness.outbox("crm.contacts.contact.updated.v1")
    assert [e.key for e in updates] == [plain["id"]]
    outcomes = {r["contact_id"]: r for r in await results(harness, job["id"])}
    assert outcomes[tagged["id"]]["outcome"] == "skipped"
    assert outcomes[plain["id"]]["outcome"] == "succeeded"


async def test_remove_tags_refuses_system_tags_per_contact_with_the_reason(
    harness: Harness,
) -> None:
    contact = await harness.create(tags=["VIP", "Lead"])
    job = await run_bulk(
        harness, action="remove_tags", ids=[contact["id"]], params={"tags": ["lead"]}
    )
    assert job["succeeded"] == 1
    assert (await _get(harness, contact["id"]))["tags"] == ["VIP", "source:manual"]
    refused = await run_bulk(
        harness, action="remove_tags", ids=[contact["id"]], params={"tags": ["source:manual"]}
    )
    assert (refused["status"], refused["failed"]) == ("completed", 1)
    [outcome] = await results(harness, refused["id"], outcome="failed")
    assert "system tag" in outcome["reason"]


async def test_missing_and_other_tenants_contacts_fail_as_not_found(harness: Harness) -> None:
    ours = await harness.create()
    theirs = (
        await harness.client.post(
            "/v1/contacts", json={"name": "Theirs"}, headers=auth(OTHER_TENANT_KEY)
        )
    ).json()
    job = await run_bulk(
        harness,
        action="assign_owner",
        ids=[ours["id"], theirs["id"], "0190f000-0000-7000-8000-000000000000"],
        params={"owner": "user-7"},
    )
    assert (job["succeeded"], job["failed"]) == (1, 2)
    failed = await results(harness, job["id"], outcome="failed")
    assert {r["contact_id"] for r in failed} == {
        theirs["id"],
        "0190f000-0000-7000-8000-000000000000",
    }
    assert all("not found" in r["reason"] for r in failed)
    assert (await _get(harness, ours["id"]))["owner"] == "user-7"
    other = await harness.client.get(f"/v1/contacts/{theirs['id']}", headers=auth(OTHER_TENANT_KEY))
    assert other.json()["owner"] is None


async def test_assign_owner_null_unassigns(harness: Harness) -> None:
    contact = await harness.create(owner="user-1")
    job = await run_bulk(
        harness, action="assign_owner", ids=[contact["id"]], params={"owner": None}
    )
    assert job["succeeded"] == 1
    assert (await _get(harness, contact["id"]))["owner"] is None


async def test_delete_then_restore_by_filter(harness: Harness) -> None:
    doomed = [await harness.create(name=f"Doomed {n}", tags=["Old"]) for n in range(3)]
    kept = await harness.create(name="Kept")
    job = await run_bulk(harness, action="delete", filter={"tag": ["old"]})
    assert (job["total"], job["succeeded"]) == (3, 3)
    assert [await _get(harness, c["id"]) for c in doomed] == [{"status": 404}] * 3
    assert (await _get(harness, kept["id"]))["name"] == "Kept"
    assert len(await harness.outbox("crm.contacts.contact.deleted.v1")) == 3
    back = await run_bulk(harness, action="restore", filter={"tag": ["old"], "deleted": True})
    assert (back["total"], back["succeeded"]) == (3, 3)
    assert [(await _get(harness, c["id"]))["name"] for c in doomed] == [c["name"] for c in doomed]
    again = await run_bulk(harness, action="restore", ids=[kept["id"]])
    [skipped] = await results(harness, again["id"])
    assert (skipped["outcome"], skipped["reason"]) == ("skipped", "not deleted")


async def test_restore_fails_with_the_reason_when_the_email_was_taken(harness: Harness) -> None:
    first = await harness.create(email="ada@example.com")
    await run_bulk(harness, action="delete", ids=[first["id"]])
    await harness.create(email="ada@example.com")
    job = await run_bulk(harness, action="restore", ids=[first["id"]])
    [outcome] = await results(harness, job["id"])
    assert outcome["outcome"] == "failed"
    assert "now has this email" in outcome["reason"]
    assert "ada@" not in outcome["reason"]


async def test_an_editor_may_delete_1000_but_not_1001_contacts(harness: Harness) -> None:
    await seed(harness.app, 1001, tags=["Bulk"])
    response = await harness.client.post(
        "/v1/bulk-actions",
        json={"action": "delete", "filter": {"tag": ["bulk"]}},
        headers=auth(EDITOR_KEY),
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert "admin" in response.json()["detail"] and "1,001" in response.json()["detail"]
    job = await run_bulk(harness, key=ADMIN_KEY, action="delete", filter={"tag": ["bulk"]})
    assert job["succeeded"] == 1001


async def test_an_editor_deletes_a_selection_under_the_limit(harness: Harness) -> None:
    ids = await seed(harness.app, 20)
    job = await run_bulk(harness, action="delete", ids=ids)
    assert job["succeeded"] == 20


async def test_a_viewer_cannot_start_or_cancel_a_bulk_action(harness: Harness) -> None:
    contact = await harness.create()
    response = await harness.client.post(
        "/v1/bulk-actions",
        json={"action": "add_tags", "ids": [contact["id"]], "params": {"tags": ["X"]}},
        headers=auth(VIEWER_KEY),
    )
    assert response.status_code == 403


async def test_another_tenant_cannot_read_a_bulk_action(harness: Harness) -> None:
    contact = await harness.create()
    job = await start_bulk(harness, action="delete", ids=[contact["id"]])
    response = await harness.client.get(
        f"/v1/bulk-actions/{job['id']}", headers=auth(OTHER_TENANT_KEY)
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"action": "paint", "ids": ["a"]}, "unknown action 'paint'"),
        ({"action": "delete"}, "either ids or filter"),
        ({"action": "delete", "ids": ["a"], "filter": {}}, "either ids or filter"),
        ({"action": "delete", "ids": []}, "at least one"),
        ({"action": "delete", "ids": [f"id-{n}" for n in range(10_001)]}, "at most 10,000"),
        ({"action": "add_tags", "ids": ["a"]}, "params.tags"),
        ({"action": "add_tags", "ids": ["a"], "params": {"tags": "VIP"}}, "params.tags"),
        ({"action": "assign_owner", "ids": ["a"]}, "params.owner"),
        ({"action": "assign_owner", "ids": ["a"], "params": {"owner": "x" * 101}}, "owner"),
        ({"action": "add_to_campaign", "ids": ["a"]}, "params.campaign_id"),
        (
            {"action": "add_to_campaign", "ids": ["a"], "params": {"campaign_id": "nope"}},
            "campaign nope not found",
        ),
        ({"action": "delete", "filter": {"custom": [{"key": "plan", "eq": "x"}]}}, "cf.plan"),
        ({"action": "delete", "filter": {"colour": "red"}}, "colour"),
    ],
)
async def test_a_bad_request_is_a_422_naming_what(
    harness: Harness, body: dict[str, object], named: str
) -> None:
    response = await harness.client.post("/v1/bulk-actions", json=body, headers=auth(EDITOR_KEY))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert named in response.json()["detail"]


async def test_cancelling_a_finished_action_is_a_409(harness: Harness) -> None:
    contact = await harness.create()
    job = await run_bulk(harness, action="add_tags", ids=[contact["id"]], params={"tags": ["A"]})
    response = await harness.client.post(
        f"/v1/bulk-actions/{job['id']}/cancel", headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 409
    assert "completed" in response.json()["detail"]
    assert (response.json()["status"], response.json()["job_status"]) == (409, "completed")


async def test_results_page_with_a_cursor_and_by_outcome(harness: Harness) -> None:
    ids = await seed(harness.app, 7)
    job = await run_bulk(
        harness, action="add_tags", ids=[*ids, "missing-id"], params={"tags": ["Paged"]}
    )
    everything = await results(harness, job["id"], limit=3)
    assert [r["contact_id"] for r in everything] == [*ids, "missing-id"]
    assert [r["contact_id"] for r in await results(harness, job["id"], outcome="failed")] == [
        "missing-id"
    ]


async def test_bulk_actions_are_listed_newest_first_per_tenant(harness: Harness) -> None:
    contact = await harness.create()
    first = await run_bulk(harness, action="add_tags", ids=[contact["id"]], params={"tags": ["A"]})
    second = await run_bulk(harness, action="add_tags", ids=[contact["id"]], params={"tags": ["B"]})
    page = (
        await harness.client.get("/v1/bulk-actions", params={"limit": 1}, headers=auth(VIEWER_KEY))
    ).json()
    assert [j["id"] for j in page["items"]] == [second["id"]]
    rest = (
        await harness.client.get(
            "/v1/bulk-actions", params={"cursor": page["next_cursor"]}, headers=auth(VIEWER_KEY)
        )
    ).json()
    assert [j["id"] for j in rest["items"]] == [first["id"]]
    other = (await harness.client.get("/v1/bulk-actions", headers=auth(OTHER_TENANT_KEY))).json()
    assert other["items"] == []


async def test_a_merged_away_contact_fails_naming_the_primary_and_filters_skip_it(
    harness: Harness,
) -> None:
    primary = await harness.create(name="Ada Lovelace", tags=["Merge"])
    duplicate = await harness.create(name="Ada Lovelace", tags=["Merge"])
    merged = await harness.client.post(
        "/v1/merges",
        json={"primary_id": primary["id"], "duplicate_ids": [duplicate["id"]]},
        headers=auth(EDITOR_KEY),
    )
    assert merged.status_code == 201, merged.text
    by_id = await run_bulk(
        harness, action="add_tags", ids=[duplicate["id"]], params={"tags": ["Later"]}
    )
    [outcome] = await results(harness, by_id["id"])
    assert outcome["outcome"] == "failed"
    assert primary["id"] in outcome["reason"]
    by_filter = await run_bulk(
        harness, action="add_tags", filter={"tag": ["merge"]}, params={"tags": ["Later"]}
    )
    assert by_filter["total"] == 1
    assert [r["contact_id"] for r in await results(harness, by_filter["id"])] == [primary["id"]]
