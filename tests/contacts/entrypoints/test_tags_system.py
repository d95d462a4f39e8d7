"""System tags: set by the platform from the contact's source; users cannot add or remove them."""

from __future__ import annotations

from typing import Any

from crm_shared.events import ImportBatchProcessed
from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope, import_batch


async def _system_tags(harness: Harness) -> dict[str, dict[str, Any]]:
    response = await harness.client.get("/v1/tags?kind=system", headers=auth(VIEWER_KEY))
    return {tag["name"]: tag for tag in response.json()["items"]}


async def test_a_created_contact_carries_its_source_tag(harness: Harness) -> None:
    contact = await harness.create(source="chat", tags=["Lead"])
    assert contact["tags"] == ["Lead", "source:chat"]
    system = await _system_tags(harness)
    assert system["source:chat"]["group"] == "Source"


async def test_an_import_created_contact_carries_source_import_and_imported(
    harness: Harness,
) -> None:
    await harness.handle(envelope(import_batch([{"name": "Grace", "tags": ["Webinar"]}])))
    [event] = await harness.outbox(ImportBatchProcessed.event_type)
    contact_id = event.data["results"][0]["contact_id"]
    contact = await harness.client.get(f"/v1/contacts/{contact_id}", headers=auth(VIEWER_KEY))
    assert contact.json()["tags"] == ["Webinar", "source:import", "imported"]
    assert set(await _system_tags(harness)) == {"source:import", "imported"}


async def test_patch_that_drops_a_system_tag_is_422_naming_it(harness: Harness) -> None:
    contact = await harness.create(tags=["Lead"])
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}", json={"tags": ["Lead"]}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 422
    assert "'source:manual' is a system tag" in response.json()["detail"]
    assert "cannot remove it" in response.json()["detail"]


async def test_patch_that_adds_a_system_tag_is_422_naming_it(harness: Harness) -> None:
    contact = await harness.create()
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"tags": ["source:manual", "imported"]},
        headers=auth(EDITOR_KEY),
    )
    assert response.status_code == 422
    assert (
        "'imported' is a system tag set by the platform; cannot add it"
        in (response.json()["detail"])
    )


async def test_create_that_names_another_source_tag_is_422(harness: Harness) -> None:
    response = await harness.client.post(
        "/v1/contacts", json={"name": "Ada", "tags": ["source:form"]}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 422


async def test_patch_that_sends_the_tags_back_as_read_is_accepted(harness: Harness) -> None:
    contact = await harness.create(tags=["Lead"])
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"tags": [*contact["tags"], "Qualified"]},
        headers=auth(EDITOR_KEY),
    )
    assert response.status_code == 200
    assert response.json()["tags"] == ["Lead", "source:manual", "Qualified"]


async def test_a_system_tag_cannot_be_renamed_or_deleted(harness: Harness) -> None:
    await harness.create()
    tag = (await _system_tags(harness))["source:manual"]
    renamed = await harness.client.patch(
        f"/v1/tags/{tag['id']}", json={"name": "manual"}, headers=auth(EDITOR_KEY)
    )
    assert renamed.status_code == 422
    deleted = await harness.client.delete(f"/v1/tags/{tag['id']}", headers=auth(EDITOR_KEY))
    assert deleted.status_code == 422


async def test_an_import_row_naming_system_tags_leaves_them_to_the_platform(
    harness: Harness,
) -> None:
    # An exported file carries system tags such as source:manual; it imports again cleanly.
    rows = [{"name": "Grace", "tags": ["Lead", "source:manual", "imported"]}]
    await harness.handle(envelope(import_batch(rows)))
    [event] = await harness.outbox(ImportBatchProcessed.event_type)
    [result] = event.data["results"]
    assert result["status"] == "created", result
    contact = await harness.client.get(
        f"/v1/contacts/{result['contact_id']}", headers=auth(VIEWER_KEY)
    )
    assert contact.json()["tags"] == ["Lead", "imported", "source:import"]
