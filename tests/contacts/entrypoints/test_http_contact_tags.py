"""`POST /v1/contacts/{id}/tags`: add and remove tags without resending the list, PATCH's rules."""

from __future__ import annotations

from typing import Any

from tests.conftest import ADMIN_KEY, EDITOR_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness


async def _edit(harness: Harness, contact_id: str, body: dict[str, Any], **headers: str) -> Any:
    return await harness.client.post(
        f"/v1/contacts/{contact_id}/tags", json=body, headers={**auth(EDITOR_KEY), **headers}
    )


async def test_tags_are_added_and_removed_and_the_others_kept(harness: Harness) -> None:
    contact = await harness.create(tags=["VIP", "Lead", "Partner"])
    response = await _edit(harness, contact["id"], {"add": ["Customer", "vip"], "remove": ["lead"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tags"] == ["VIP", "Partner", "source:manual", "Customer"]
    assert body["version"] == contact["version"] + 1
    assert response.headers["ETag"] == f'"{body["version"]}"'
    [event] = [
        e for e in await harness.outbox("crm.contacts.contact.updated.v1") if e.key == contact["id"]
    ]
    assert event.data["changes"]["tags"]["after"] == body["tags"]


async def test_an_edit_that_changes_nothing_keeps_the_version(harness: Harness) -> None:
    contact = await harness.create(tags=["VIP"])
    response = await _edit(harness, contact["id"], {"add": ["vip"], "remove": ["Absent"]})
    assert response.status_code == 200
    assert response.json()["version"] == contact["version"]
    assert await harness.outbox("crm.contacts.contact.updated.v1") == []


async def test_a_system_tag_cannot_be_removed(harness: Harness) -> None:
    contact = await harness.create(tags=["VIP"])
    response = await _edit(harness, contact["id"], {"remove": ["source:manual"]})
    assert response.status_code == 422
    assert "system tag" in response.json()["detail"]


async def test_a_system_tag_cannot_be_added(harness: Harness) -> None:
    contact = await harness.create()
    response = await _edit(harness, contact["id"], {"add": ["imported"]})
    assert response.status_code == 422
    assert "system tag" in response.json()["detail"]


async def test_the_tag_cap_holds(harness: Harness) -> None:
    contact = await harness.create(tags=[f"t{n}" for n in range(45)])
    response = await _edit(harness, contact["id"], {"add": [f"u{n}" for n in range(10)]})
    assert response.status_code == 422
    assert "at most 50" in response.json()["detail"]


async def test_a_stale_if_match_is_a_412_with_the_current_contact(harness: Harness) -> None:
    contact = await harness.create()
    response = await _edit(harness, contact["id"], {"add": ["VIP"]}, **{"If-Match": '"7"'})
    assert response.status_code == 412
    assert response.json()["current"]["version"] == contact["version"]
    ok = await _edit(
        harness, contact["id"], {"add": ["VIP"]}, **{"If-Match": f'"{contact["version"]}"'}
    )
    assert ok.status_code == 200


async def test_tag_rules_are_re_evaluated(harness: Harness) -> None:
    response = await harness.client.post(
        "/v1/tag-rules",
        json={"name": "VIPs are hot", "filter": {"tag": ["VIP"]}, "tag": "Hot"},
        headers=auth(ADMIN_KEY),
    )
    assert response.status_code == 202, response.text  # in force at once; a job catches up
    contact = await harness.create()
    added = await _edit(harness, contact["id"], {"add": ["VIP"]})
    assert "Hot" in added.json()["tags"]
    removed = await _edit(harness, contact["id"], {"remove": ["VIP"]})
    assert "Hot" not in removed.json()["tags"]


async def test_an_empty_edit_is_a_422_and_a_viewer_gets_403(harness: Harness) -> None:
    contact = await harness.create()
    assert (await _edit(harness, contact["id"], {})).status_code == 422
    response = await harness.client.post(
        f"/v1/contacts/{contact['id']}/tags", json={"add": ["X"]}, headers=auth(VIEWER_KEY)
    )
    assert response.status_code == 403


async def test_a_deleted_contact_is_not_found(harness: Harness) -> None:
    contact = await harness.create()
    await harness.client.delete(f"/v1/contacts/{contact['id']}", headers=auth(EDITOR_KEY))
    assert (await _edit(harness, contact["id"], {"add": ["X"]})).status_code == 404
