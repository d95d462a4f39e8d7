"""`/v1/tags` over HTTP: manual tags, unique by folded name, renamed and deleted everywhere."""

from __future__ import annotations

from typing import Any

import pytest

from crm_shared.events import ContactUpdated
from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness
from tests.contacts.job_support import job_finished


async def _tag(harness: Harness, name: str, **extra: Any) -> dict[str, Any]:
    response = await harness.client.post(
        "/v1/tags", json={"name": name, **extra}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _tags(harness: Harness, query: str = "") -> list[dict[str, Any]]:
    response = await harness.client.get(f"/v1/tags{query}", headers=auth(VIEWER_KEY))
    assert response.status_code == 200
    return list(response.json()["items"])


async def _contact(harness: Harness, contact_id: str) -> dict[str, Any]:
    response = await harness.client.get(f"/v1/contacts/{contact_id}", headers=auth(VIEWER_KEY))
    return dict(response.json())


async def test_an_editor_creates_a_manual_tag_with_group_and_color(harness: Harness) -> None:
    tag = await _tag(harness, "Customer", group="Type", color="#12ab34")
    assert (tag["name"], tag["kind"], tag["group"], tag["color"]) == (
        "Customer",
        "manual",
        "Type",
        "#12ab34",
    )
    [listed] = await _tags(harness, "?group=Type")
    assert listed["id"] == tag["id"]


async def test_a_viewer_cannot_create_a_tag(harness: Harness) -> None:
    response = await harness.client.post("/v1/tags", json={"name": "VIP"}, headers=auth(VIEWER_KEY))
    assert response.status_code == 403


async def test_listing_tags_needs_a_key(harness: Harness) -> None:
    assert (await harness.client.get("/v1/tags")).status_code == 401


@pytest.mark.parametrize("kind", ["auto", "system"])
async def test_users_may_create_manual_tags_only(harness: Harness, kind: str) -> None:
    response = await harness.client.post(
        "/v1/tags", json={"name": "Hot", "kind": kind}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 422
    assert "manual tags only" in response.json()["detail"]


@pytest.mark.parametrize("name", ["imported", "Source:chat", "source:anything"])
async def test_system_tag_names_are_reserved(harness: Harness, name: str) -> None:
    response = await harness.client.post("/v1/tags", json={"name": name}, headers=auth(EDITOR_KEY))
    assert response.status_code == 422


@pytest.mark.parametrize("second", ["vip", "VIP", " Vip ", "Vìp"])
async def test_tag_names_are_unique_ignoring_case_and_accents(
    harness: Harness, second: str
) -> None:
    first = await _tag(harness, "VIP")
    response = await harness.client.post(
        "/v1/tags", json={"name": second}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 409
    assert response.json()["existing_id"] == first["id"]


async def test_a_tag_of_another_tenant_is_404(harness: Harness) -> None:
    tag = await _tag(harness, "VIP")
    other = auth(OTHER_TENANT_KEY)
    assert (await harness.client.get(f"/v1/tags/{tag['id']}", headers=other)).status_code == 404
    patch = await harness.client.patch(f"/v1/tags/{tag['id']}", json={"name": "X"}, headers=other)
    assert patch.status_code == 404
    assert (await harness.client.delete(f"/v1/tags/{tag['id']}", headers=other)).status_code == 404


async def test_a_tag_first_used_on_a_contact_becomes_a_manual_tag(harness: Harness) -> None:
    await harness.create(tags=["Prospect"])
    manual = await _tags(harness, "?kind=manual")
    assert [(t["name"], t["kind"]) for t in manual] == [("Prospect", "manual")]


async def test_a_tag_first_used_by_patch_becomes_a_manual_tag(harness: Harness) -> None:
    contact = await harness.create()
    await harness.client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"tags": ["Partner", "source:manual"]},
        headers=auth(EDITOR_KEY),
    )
    assert [t["name"] for t in await _tags(harness, "?kind=manual")] == ["Partner"]


async def test_a_contact_uses_the_existing_spelling_of_a_tag(harness: Harness) -> None:
    await _tag(harness, "VIP")
    contact = await harness.create(tags=["vip", "Vìp"])
    assert contact["tags"] == ["VIP", "source:manual"]


async def test_renaming_a_tag_renames_it_on_every_contact(harness: Harness) -> None:
    tag = await _tag(harness, "VIP")
    ada = await harness.create(tags=["VIP", "Partner"])
    grace = await harness.create(name="Grace", tags=["vip"])
    alan = await harness.create(name="Alan", tags=["Partner"])
    response = await harness.client.patch(
        f"/v1/tags/{tag['id']}", json={"name": "Key account"}, headers=auth(EDITOR_KEY)
    )
    assert response.json()["name"] == "Key account"
    job = await job_finished(harness.client, response)
    assert (job["kind"], job["status"], job["progress"]) == (
        "tag_rename",
        "completed",
        {"done": 2, "total": 2, "changed": 2, "failed": 0},
    )
    renamed = await _contact(harness, ada["id"])
    assert (renamed["tags"], renamed["version"]) == (["Key account", "Partner", "source:manual"], 2)
    assert (await _contact(harness, grace["id"]))["tags"] == ["Key account", "source:manual"]
    assert (await _contact(harness, alan["id"]))["version"] == 1
    events = {e.key: e.data for e in await harness.outbox(ContactUpdated.event_type)}
    assert set(events) == {ada["id"], grace["id"]}
    actors = {e.envelope.get("actor") for e in await harness.outbox(ContactUpdated.event_type)}
    assert actors == {f"job:{job['id']}"}
    assert events[ada["id"]]["changes"]["tags"] == {
        "before": ["VIP", "Partner", "source:manual"],
        "after": ["Key account", "Partner", "source:manual"],
    }


async def test_a_renamed_tag_is_found_by_its_new_name(harness: Harness) -> None:
    tag = await _tag(harness, "VIP")
    ada = await harness.create(tags=["VIP"])
    response = await harness.client.patch(
        f"/v1/tags/{tag['id']}", json={"name": "Gold"}, headers=auth(EDITOR_KEY)
    )
    await job_finished(harness.client, response)
    found = await harness.client.get("/v1/contacts?tag=gold", headers=auth(VIEWER_KEY))
    assert [c["id"] for c in found.json()["items"]] == [ada["id"]]
    stale = await harness.client.get("/v1/contacts?tag=vip", headers=auth(VIEWER_KEY))
    assert stale.json()["items"] == []


async def test_renaming_to_another_tags_name_is_409(harness: Harness) -> None:
    await _tag(harness, "Gold")
    vip = await _tag(harness, "VIP")
    response = await harness.client.patch(
        f"/v1/tags/{vip['id']}", json={"name": "GOLD"}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 409


async def test_a_tag_can_be_respelled_in_another_case(harness: Harness) -> None:
    tag = await _tag(harness, "vip")
    contact = await harness.create(tags=["vip"])
    response = await harness.client.patch(
        f"/v1/tags/{tag['id']}", json={"name": "VIP"}, headers=auth(EDITOR_KEY)
    )
    await job_finished(harness.client, response)
    assert (await _contact(harness, contact["id"]))["tags"] == ["VIP", "source:manual"]


async def test_deleting_a_tag_removes_it_from_every_contact(harness: Harness) -> None:
    tag = await _tag(harness, "VIP")
    ada = await harness.create(tags=["VIP", "Partner"])
    response = await harness.client.delete(f"/v1/tags/{tag['id']}", headers=auth(EDITOR_KEY))
    job = await job_finished(harness.client, response)
    assert (job["kind"], job["progress"]["changed"]) == ("tag_delete", 1)
    stored = await _contact(harness, ada["id"])
    assert (stored["tags"], stored["version"]) == (["Partner", "source:manual"], 2)
    [event] = await harness.outbox(ContactUpdated.event_type)
    assert event.data["changes"]["tags"]["after"] == ["Partner", "source:manual"]
    assert (
        await harness.client.get(f"/v1/tags/{tag['id']}", headers=auth(VIEWER_KEY))
    ).status_code == 404
