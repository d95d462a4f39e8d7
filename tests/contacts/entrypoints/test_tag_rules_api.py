"""`/v1/tag-rules` over HTTP: auto tags follow the rules on every write and every rule change."""

from __future__ import annotations

from typing import Any

import pytest

from crm_shared.events import ContactUpdated, ImportBatchProcessed
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.custom_field_support import define_field
from tests.contacts.helpers import Harness, envelope, import_batch
from tests.contacts.job_support import job_finished

BIG = {"custom": [{"key": "seats", "gte": 10}]}


async def _rule(
    harness: Harness, criteria: dict[str, Any], tag: str = "Big account", name: str = "Big"
) -> dict[str, Any]:
    response = await harness.client.post(
        "/v1/tag-rules",
        json={"name": name, "filter": criteria, "tag": tag},
        headers=auth(ADMIN_KEY),
    )
    # The rule is in force at once; its job catches up the contacts already stored.
    return {**response.json(), "job": await job_finished(harness.client, response)}


async def _tags(harness: Harness, contact_id: str) -> list[str]:
    response = await harness.client.get(f"/v1/contacts/{contact_id}", headers=auth(VIEWER_KEY))
    return list(response.json()["tags"])


async def _seats(harness: Harness, contact_id: str, seats: int) -> dict[str, Any]:
    response = await harness.client.patch(
        f"/v1/contacts/{contact_id}",
        json={"custom_fields": {"seats": seats}},
        headers=auth(EDITOR_KEY),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
async def seats(harness: Harness) -> None:
    """A number field the rules filter on."""
    await define_field(harness, "seats", "number")


async def test_a_new_rule_tags_the_contacts_it_matches(harness: Harness, seats: None) -> None:
    big = await harness.create(custom_fields={"seats": 12})
    small = await harness.create(name="Grace", custom_fields={"seats": 2})
    rule = await _rule(harness, BIG)
    assert (rule["tag"], rule["job"]["kind"], rule["job"]["progress"]["changed"]) == (
        "Big account",
        "tag_rules",
        1,
    )
    assert rule["filter"] == BIG
    assert await _tags(harness, big["id"]) == ["source:manual", "Big account"]
    assert await _tags(harness, small["id"]) == ["source:manual"]
    [event] = await harness.outbox(ContactUpdated.event_type)
    assert (event.key, event.data["version"]) == (big["id"], 2)
    assert event.data["changes"]["tags"]["after"] == ["source:manual", "Big account"]
    auto = await harness.client.get("/v1/tags?kind=auto", headers=auth(VIEWER_KEY))
    assert [t["name"] for t in auto.json()["items"]] == ["Big account"]


async def test_a_created_contact_matching_a_rule_gets_its_tag(
    harness: Harness, seats: None
) -> None:
    await _rule(harness, BIG)
    contact = await harness.create(custom_fields={"seats": 50})
    assert contact["tags"] == ["source:manual", "Big account"]


async def test_an_update_adds_and_removes_the_auto_tag(harness: Harness, seats: None) -> None:
    await _rule(harness, BIG)
    contact = await harness.create(custom_fields={"seats": 1})
    grown = await _seats(harness, contact["id"], 20)
    assert grown["tags"] == ["source:manual", "Big account"]
    shrunk = await _seats(harness, contact["id"], 3)
    assert shrunk["tags"] == ["source:manual"]
    events = await harness.outbox(ContactUpdated.event_type)
    assert [e.data["changes"]["tags"]["after"] for e in events] == [
        ["source:manual", "Big account"],
        ["source:manual"],
    ]


async def test_an_import_applies_the_rules_to_created_and_updated_contacts(
    harness: Harness, seats: None
) -> None:
    await _rule(harness, BIG)
    existing = await harness.create(email="ada@example.com", custom_fields={"seats": 1})
    rows = [
        {"email": "ada@example.com", "custom_fields": {"seats": "15"}},
        {"name": "Grace", "custom_fields": {"seats": "30"}},
        {"name": "Alan", "custom_fields": {"seats": "3"}},
    ]
    await harness.handle(envelope(import_batch(rows, policy="update")))
    [processed] = await harness.outbox(ImportBatchProcessed.event_type)
    ids = [r["contact_id"] for r in processed.data["results"]]
    assert ids[0] == existing["id"]
    assert await _tags(harness, ids[0]) == ["source:manual", "Big account"]
    assert await _tags(harness, ids[1]) == ["source:import", "imported", "Big account"]
    assert await _tags(harness, ids[2]) == ["source:import", "imported"]


async def test_changing_a_rule_retags_every_contact(harness: Harness, seats: None) -> None:
    ten = await harness.create(custom_fields={"seats": 10})
    fifty = await harness.create(name="Grace", custom_fields={"seats": 50})
    rule = await _rule(harness, BIG)
    response = await harness.client.patch(
        f"/v1/tag-rules/{rule['id']}",
        json={"filter": {"custom": [{"key": "seats", "gte": 40}]}},
        headers=auth(ADMIN_KEY),
    )
    assert (await job_finished(harness.client, response))["progress"]["changed"] == 1
    assert await _tags(harness, ten["id"]) == ["source:manual"]
    assert await _tags(harness, fifty["id"]) == ["source:manual", "Big account"]


async def test_renaming_the_rules_tag_moves_contacts_to_the_new_tag(
    harness: Harness, seats: None
) -> None:
    contact = await harness.create(custom_fields={"seats": 10})
    rule = await _rule(harness, BIG)
    response = await harness.client.patch(
        f"/v1/tag-rules/{rule['id']}", json={"tag": "Large"}, headers=auth(ADMIN_KEY)
    )
    assert response.json()["tag"] == "Large"
    await job_finished(harness.client, response)
    assert await _tags(harness, contact["id"]) == ["source:manual", "Large"]


async def test_deleting_a_rule_removes_its_tag_from_contacts(harness: Harness, seats: None) -> None:
    contact = await harness.create(custom_fields={"seats": 10})
    rule = await _rule(harness, BIG)
    response = await harness.client.delete(f"/v1/tag-rules/{rule['id']}", headers=auth(ADMIN_KEY))
    await job_finished(harness.client, response)
    assert await _tags(harness, contact["id"]) == ["source:manual"]
    listed = await harness.client.get("/v1/tag-rules", headers=auth(VIEWER_KEY))
    assert listed.json()["items"] == []


async def test_a_tag_given_by_two_rules_stays_while_one_still_gives_it(
    harness: Harness, seats: None
) -> None:
    await _tag_vip_rule(harness)
    rule = await _rule(harness, BIG, tag="Priority", name="Big")
    both = await harness.create(tags=["VIP"], custom_fields={"seats": 20})
    assert both["tags"] == ["VIP", "source:manual", "Priority"]
    deleted = await harness.client.delete(f"/v1/tag-rules/{rule['id']}", headers=auth(ADMIN_KEY))
    await job_finished(harness.client, deleted)
    assert await _tags(harness, both["id"]) == ["VIP", "source:manual", "Priority"]
    shrunk = await _seats(harness, both["id"], 1)
    assert shrunk["tags"] == ["VIP", "source:manual", "Priority"]


async def _tag_vip_rule(harness: Harness) -> dict[str, Any]:
    return await _rule(harness, {"tag": ["vip"]}, tag="Priority", name="VIPs")


async def test_users_cannot_add_an_auto_tag(harness: Harness, seats: None) -> None:
    await _rule(harness, BIG)
    contact = await harness.create(custom_fields={"seats": 1})
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"tags": ["source:manual", "Big account"]},
        headers=auth(EDITOR_KEY),
    )
    assert response.status_code == 422
    assert (
        "'Big account' is an auto tag set by tag rules; cannot add it"
        in (response.json()["detail"])
    )


async def test_leaving_an_auto_tag_out_of_a_patch_keeps_it(harness: Harness, seats: None) -> None:
    await _rule(harness, BIG)
    contact = await harness.create(custom_fields={"seats": 12})
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"tags": ["source:manual", "Lead"]},
        headers=auth(EDITOR_KEY),
    )
    assert response.json()["tags"] == ["source:manual", "Lead", "Big account"]


async def test_a_rule_tag_that_is_a_manual_tag_is_409(harness: Harness, seats: None) -> None:
    await harness.create(tags=["Big account"])
    response = await harness.client.post(
        "/v1/tag-rules",
        json={"name": "Big", "filter": BIG, "tag": "big ACCOUNT"},
        headers=auth(ADMIN_KEY),
    )
    assert response.status_code == 409


@pytest.mark.parametrize(
    "criteria",
    [
        {"custom": [{"key": "shoe_size", "eq": 42}]},
        {"custom": [{"key": "seats", "gte": "many"}]},
        {"deleted": True},
        {"nonsense": 1},
    ],
)
async def test_a_bad_rule_filter_is_422(
    harness: Harness, seats: None, criteria: dict[str, Any]
) -> None:
    response = await harness.client.post(
        "/v1/tag-rules",
        json={"name": "Bad", "filter": criteria, "tag": "X"},
        headers=auth(ADMIN_KEY),
    )
    assert response.status_code == 422, response.text
    assert (await harness.client.get("/v1/tags?kind=auto", headers=auth(VIEWER_KEY))).json()[
        "items"
    ] == []


async def test_an_editor_cannot_create_a_rule_but_a_viewer_can_read_them(
    harness: Harness, seats: None
) -> None:
    refused = await harness.client.post(
        "/v1/tag-rules",
        json={"name": "Big", "filter": BIG, "tag": "Big"},
        headers=auth(EDITOR_KEY),
    )
    assert refused.status_code == 403
    rule = await _rule(harness, BIG)
    one = await harness.client.get(f"/v1/tag-rules/{rule['id']}", headers=auth(VIEWER_KEY))
    assert one.status_code == 200 and one.json()["tag"] == "Big account"
    other = await harness.client.get(f"/v1/tag-rules/{rule['id']}", headers=auth(OTHER_TENANT_KEY))
    assert other.status_code == 404


async def test_renaming_a_tag_a_rule_filters_on_keeps_the_rule_working(harness: Harness) -> None:
    tag = await harness.client.post("/v1/tags", json={"name": "VIP"}, headers=auth(EDITOR_KEY))
    contact = await harness.create(tags=["VIP"])
    rule = await _tag_vip_rule(harness)
    renamed = await harness.client.patch(
        f"/v1/tags/{tag.json()['id']}", json={"name": "Gold"}, headers=auth(EDITOR_KEY)
    )
    await job_finished(harness.client, renamed)
    reread = await harness.client.get(f"/v1/tag-rules/{rule['id']}", headers=auth(VIEWER_KEY))
    assert reread.json()["filter"] == {"tag": ["Gold"]}
    assert await _tags(harness, contact["id"]) == ["Gold", "source:manual", "Priority"]
    grace = await harness.create(name="Grace", tags=["gold"])
    assert grace["tags"] == ["Gold", "source:manual", "Priority"]


async def test_a_tag_or_field_a_rule_uses_cannot_be_deleted(harness: Harness, seats: None) -> None:
    await _rule(harness, BIG)
    auto = await harness.client.get("/v1/tags?kind=auto", headers=auth(VIEWER_KEY))
    [tag] = auto.json()["items"]
    tag_delete = await harness.client.delete(f"/v1/tags/{tag['id']}", headers=auth(EDITOR_KEY))
    assert tag_delete.status_code == 409
    field_delete = await harness.client.delete("/v1/custom-fields/seats", headers=auth(ADMIN_KEY))
    assert field_delete.status_code == 409


async def test_tag_rules_need_a_valid_key(harness: Harness) -> None:
    assert (await harness.client.get("/v1/tag-rules")).status_code == 401
    wrong = await harness.client.get("/v1/tag-rules", headers=auth("not-a-key"))
    assert wrong.status_code == 401


async def test_a_type_change_that_would_break_a_rules_filter_is_409(harness: Harness) -> None:
    await define_field(harness, "plan", "dropdown", options=["Free", "Pro"])
    await _rule(harness, {"custom": [{"key": "plan", "eq": "Pro"}]}, tag="Paying")
    response = await harness.client.patch(
        "/v1/custom-fields/plan", json={"type": "number"}, headers=auth(ADMIN_KEY)
    )
    assert response.status_code == 409
    assert response.json()["tag_rules"] == ["Big"]


async def test_a_type_change_keeps_the_auto_tag_on_converted_contacts(
    harness: Harness,
) -> None:
    await define_field(harness, "plan", "dropdown", options=["Free", "Pro"])
    contact = await harness.create(custom_fields={"plan": "Pro"})
    await _rule(harness, {"custom": [{"key": "plan", "eq": "Pro"}]}, tag="Paying")
    assert await _tags(harness, contact["id"]) == ["source:manual", "Paying"]
    response = await harness.client.patch(
        "/v1/custom-fields/plan", json={"type": "multi_select"}, headers=auth(ADMIN_KEY)
    )
    await job_finished(harness.client, response)
    stored = await harness.client.get(f"/v1/contacts/{contact['id']}", headers=auth(VIEWER_KEY))
    assert stored.json()["custom_fields"] == {"plan": ["Pro"]}
    assert stored.json()["tags"] == ["source:manual", "Paying"]
