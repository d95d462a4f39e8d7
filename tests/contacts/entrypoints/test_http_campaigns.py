"""`/v1/campaigns` over HTTP: unique folded names, paging, member counts, `campaign=` search."""

from __future__ import annotations

from typing import Any

from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.bulk_support import campaign, run_bulk
from tests.contacts.helpers import Harness


async def test_an_editor_creates_a_campaign_and_reads_it_with_its_member_count(
    harness: Harness,
) -> None:
    created = await campaign(harness, "Spring launch", description="Mailing of March")
    assert created["name"] == "Spring launch"
    assert created["member_count"] == 0
    response = await harness.client.get(f"/v1/campaigns/{created['id']}", headers=auth(VIEWER_KEY))
    assert response.status_code == 200
    assert response.json()["description"] == "Mailing of March"


async def test_campaign_names_are_unique_ignoring_case_and_accents(harness: Harness) -> None:
    first = await campaign(harness, "Événement Paris")
    response = await harness.client.post(
        "/v1/campaigns", json={"name": "evenement  PARIS"}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["existing_id"] == first["id"]


async def test_a_viewer_cannot_create_a_campaign(harness: Harness) -> None:
    response = await harness.client.post(
        "/v1/campaigns", json={"name": "X"}, headers=auth(VIEWER_KEY)
    )
    assert response.status_code == 403


async def test_a_blank_campaign_name_is_a_422(harness: Harness) -> None:
    response = await harness.client.post(
        "/v1/campaigns", json={"name": "   "}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 422
    assert "name" in response.json()["detail"]


async def test_campaigns_page_in_creation_order(harness: Harness) -> None:
    made = [await campaign(harness, f"Campaign {n}") for n in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (
            await harness.client.get("/v1/campaigns", params=params, headers=auth(VIEWER_KEY))
        ).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [c["id"] for c in made]


async def test_another_tenants_campaign_is_not_found(harness: Harness) -> None:
    created = await campaign(harness, "Ours")
    response = await harness.client.get(
        f"/v1/campaigns/{created['id']}", headers=auth(OTHER_TENANT_KEY)
    )
    assert response.status_code == 404


async def test_members_show_the_campaign_and_the_campaign_filter_finds_them(
    harness: Harness,
) -> None:
    spring = await campaign(harness, "Spring")
    members = [await harness.create(name=f"Member {n}") for n in range(3)]
    outsider = await harness.create(name="Outsider")
    job = await run_bulk(
        harness,
        action="add_to_campaign",
        ids=[m["id"] for m in members],
        params={"campaign_id": spring["id"]},
    )
    assert (job["status"], job["succeeded"]) == ("completed", 3)
    contact = (
        await harness.client.get(f"/v1/contacts/{members[0]['id']}", headers=auth(VIEWER_KEY))
    ).json()
    assert contact["campaigns"] == [spring["id"]]
    listed = (
        await harness.client.get(
            "/v1/contacts", params={"campaign": spring["id"]}, headers=auth(VIEWER_KEY)
        )
    ).json()
    assert {c["id"] for c in listed["items"]} == {m["id"] for m in members}
    searched = (
        await harness.client.post(
            "/v1/contacts/search",
            json={"filter": {"campaign": spring["id"]}},
            headers=auth(VIEWER_KEY),
        )
    ).json()
    assert outsider["id"] not in {c["id"] for c in searched["items"]}
    counted = (
        await harness.client.get(f"/v1/campaigns/{spring['id']}", headers=auth(VIEWER_KEY))
    ).json()
    assert counted["member_count"] == 3


async def test_joining_and_leaving_publish_membership_events_keyed_by_contact(
    harness: Harness,
) -> None:
    spring = await campaign(harness, "Spring")
    contact = await harness.create(name="Joiner")
    await run_bulk(
        harness, action="add_to_campaign", ids=[contact["id"]], params={"campaign_id": spring["id"]}
    )
    await run_bulk(
        harness,
        action="remove_from_campaign",
        ids=[contact["id"]],
        params={"campaign_id": spring["id"]},
    )
    changes = await harness.outbox("crm.contacts.campaign.membership-changed.v1")
    assert [(e.key, e.data["change"]) for e in changes] == [
        (contact["id"], "added"),
        (contact["id"], "removed"),
    ]
    assert all(e.data["campaign_id"] == spring["id"] for e in changes)
    updates = [
        e for e in await harness.outbox("crm.contacts.contact.updated.v1") if e.key == contact["id"]
    ]
    assert [e.data["changes"]["campaigns"]["after"] for e in updates] == [[spring["id"]], []]
    created = await harness.outbox("crm.contacts.campaign.created.v1")
    assert [e.key for e in created] == [spring["id"]]


async def test_a_tag_rule_on_a_campaign_tags_members_as_they_join(harness: Harness) -> None:
    spring = await campaign(harness, "Spring")
    rule = await harness.client.post(
        "/v1/tag-rules",
        json={"name": "Spring people", "filter": {"campaign": spring["id"]}, "tag": "Spring 2026"},
        headers=auth(ADMIN_KEY),
    )
    assert rule.status_code == 202, rule.text
    contact = await harness.create(name="Joiner")
    await run_bulk(
        harness, action="add_to_campaign", ids=[contact["id"]], params={"campaign_id": spring["id"]}
    )
    got = (
        await harness.client.get(f"/v1/contacts/{contact['id']}", headers=auth(VIEWER_KEY))
    ).json()
    assert "Spring 2026" in got["tags"]
