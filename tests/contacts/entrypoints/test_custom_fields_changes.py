"""Changing and deleting definitions: each documented rule for the values contacts hold."""

from __future__ import annotations

from typing import Any

from crm_shared.events import ContactUpdated
from tests.conftest import ADMIN_KEY, EDITOR_KEY, VIEWER_KEY, auth
from tests.contacts.custom_field_support import define_field
from tests.contacts.helpers import Harness
from tests.contacts.job_support import job_finished


async def _patch_field(harness: Harness, key: str, body: dict[str, Any]) -> Any:
    return await harness.client.patch(
        f"/v1/custom-fields/{key}", json=body, headers=auth(ADMIN_KEY)
    )


async def _contact(harness: Harness, contact_id: str) -> dict[str, Any]:
    response = await harness.client.get(f"/v1/contacts/{contact_id}", headers=auth(VIEWER_KEY))
    assert response.status_code == 200
    return dict(response.json())


async def _set(harness: Harness, contact_id: str, values: dict[str, Any]) -> Any:
    return await harness.client.patch(
        f"/v1/contacts/{contact_id}", json={"custom_fields": values}, headers=auth(EDITOR_KEY)
    )


async def test_relabel_and_description_change_nothing_on_contacts(harness: Harness) -> None:
    await define_field(harness, "plan", "text")
    contact = await harness.create(custom_fields={"plan": "pro"})
    response = await _patch_field(harness, "plan", {"label": "Plan tier", "description": "Tier"})
    assert response.status_code == 200
    assert (response.json()["label"], response.json()["description"]) == ("Plan tier", "Tier")
    assert response.json()["version"] == 2
    assert (await _contact(harness, contact["id"]))["version"] == 1
    assert await harness.outbox(ContactUpdated.event_type) == []


async def test_added_options_are_usable_at_once(harness: Harness) -> None:
    await define_field(harness, "plan", "dropdown", options=["Free", "Pro"])
    response = await _patch_field(harness, "plan", {"options": ["Free", "Pro", "Enterprise"]})
    assert response.json()["options"] == ["Free", "Pro", "Enterprise"]
    contact = await harness.create(custom_fields={"plan": "enterprise"})
    assert contact["custom_fields"] == {"plan": "Enterprise"}


async def test_a_retired_option_stays_on_contacts_but_new_writes_are_422(
    harness: Harness,
) -> None:
    await define_field(harness, "plan", "dropdown", options=["Free", "Legacy", "Pro"])
    holder = await harness.create(custom_fields={"plan": "Legacy"})
    response = await _patch_field(harness, "plan", {"retired_options": ["legacy"]})
    assert response.status_code == 200
    assert (response.json()["options"], response.json()["retired_options"]) == (
        ["Free", "Pro"],
        ["Legacy"],
    )
    # The contact that holds it keeps it, readable, unchanged.
    kept = await _contact(harness, holder["id"])
    assert kept["custom_fields"] == {"plan": "Legacy"} and kept["version"] == 1
    # A new write using it is refused, naming the option and the field.
    other = await harness.create()
    refused = await _set(harness, other["id"], {"plan": "Legacy"})
    assert refused.status_code == 422
    assert refused.json()["detail"] == "custom_fields.plan: option 'Legacy' of 'plan' is retired"


async def test_a_contact_may_send_back_the_retired_option_it_holds(harness: Harness) -> None:
    await define_field(harness, "plan", "dropdown", options=["Legacy", "Pro"])
    await define_field(harness, "seats", "number")
    holder = await harness.create(custom_fields={"plan": "Legacy"})
    await _patch_field(harness, "plan", {"retired_options": ["Legacy"]})
    response = await _set(harness, holder["id"], {"plan": "Legacy", "seats": 4})
    assert response.status_code == 200
    assert response.json()["custom_fields"] == {"plan": "Legacy", "seats": 4}


async def test_leaving_an_option_out_of_options_retires_it(harness: Harness) -> None:
    await define_field(harness, "plan", "dropdown", options=["Free", "Legacy", "Pro"])
    response = await _patch_field(harness, "plan", {"options": ["Free", "Pro"]})
    assert response.json()["retired_options"] == ["Legacy"]
    contact = await harness.create()
    refused = await _set(harness, contact["id"], {"plan": "legacy"})
    assert refused.status_code == 422
    assert "option 'Legacy' of 'plan' is retired" in refused.json()["detail"]


async def test_retiring_an_option_that_does_not_exist_is_422(harness: Harness) -> None:
    await define_field(harness, "plan", "dropdown", options=["Free", "Pro"])
    response = await _patch_field(harness, "plan", {"retired_options": ["Gold"]})
    assert response.status_code == 422
    assert "option 'Gold' of 'plan' does not exist" in response.json()["detail"]


async def test_a_retired_option_listed_in_options_again_is_reactivated(harness: Harness) -> None:
    await define_field(harness, "plan", "dropdown", options=["Free", "Pro"])
    await _patch_field(harness, "plan", {"retired_options": ["Free"]})
    response = await _patch_field(harness, "plan", {"options": ["Free", "Pro"]})
    assert (response.json()["options"], response.json()["retired_options"]) == (
        ["Free", "Pro"],
        [],
    )
    contact = await harness.create(custom_fields={"plan": "free"})
    assert contact["custom_fields"] == {"plan": "Free"}


async def test_a_respelled_option_is_respelled_on_contacts(harness: Harness) -> None:
    await define_field(harness, "plan", "dropdown", options=["pro", "free"])
    contact = await harness.create(custom_fields={"plan": "pro"})
    response = await _patch_field(harness, "plan", {"options": ["Pro", "free"]})
    assert (await job_finished(harness.client, response))["kind"] == "field_change"
    stored = await _contact(harness, contact["id"])
    assert (stored["custom_fields"], stored["version"]) == ({"plan": "Pro"}, 2)
    [event] = await harness.outbox(ContactUpdated.event_type)
    assert event.data["changes"] == {
        "custom_fields": {"before": {"plan": "pro"}, "after": {"plan": "Pro"}}
    }


async def test_a_type_change_that_converts_rewrites_values_with_events(harness: Harness) -> None:
    await define_field(harness, "seats", "text")
    first = await harness.create(custom_fields={"seats": "12"})
    second = await harness.create(name="Grace", custom_fields={"seats": " 3.5 "})
    untouched = await harness.create(name="Alan")
    response = await _patch_field(harness, "seats", {"type": "number"})
    assert response.json()["type"] == "number"
    job = await job_finished(harness.client, response)
    assert job["progress"] == {"done": 2, "total": 2, "changed": 2, "failed": 0}
    assert (await _contact(harness, first["id"]))["custom_fields"] == {"seats": 12}
    assert (await _contact(harness, second["id"]))["custom_fields"] == {"seats": 3.5}
    assert (await _contact(harness, untouched["id"]))["version"] == 1
    events = await harness.outbox(ContactUpdated.event_type)
    assert sorted(e.key for e in events) == sorted([first["id"], second["id"]])
    assert {e.data["version"] for e in events} == {2}
    assert {e.envelope["actor"] for e in events} == {f"job:{job['id']}"}


async def test_a_type_change_converts_what_it_can_and_lists_the_rest(harness: Harness) -> None:
    await define_field(harness, "seats", "text")
    ok = await harness.create(custom_fields={"seats": "12"})
    grace = await harness.create(name="Grace", custom_fields={"seats": "a dozen"})
    alan = await harness.create(name="Alan", custom_fields={"seats": "few"})
    response = await _patch_field(harness, "seats", {"type": "number"})
    job = await job_finished(harness.client, response)
    assert (job["status"], job["progress"]["changed"], job["progress"]["failed"]) == (
        "completed",
        1,
        2,
    )
    assert {e["contact_id"] for e in job["errors"]} == {grace["id"], alan["id"]}
    reason = job["errors"][0]["reason"]
    assert "custom_fields.seats: a text value does not convert to number" in reason
    assert "dozen" not in reason and "few" not in reason  # never the value itself
    # The definition changed; the convertible contact converted; the others kept their value.
    field = await harness.client.get("/v1/custom-fields/seats", headers=auth(VIEWER_KEY))
    assert field.json()["type"] == "number"
    assert (await _contact(harness, ok["id"]))["custom_fields"] == {"seats": 12}
    kept = await _contact(harness, grace["id"])
    assert (kept["custom_fields"], kept["version"]) == ({"seats": "a dozen"}, 1)
    [event] = await harness.outbox(ContactUpdated.event_type)
    assert event.key == ok["id"]


async def test_dropdown_to_multi_select_always_converts(harness: Harness) -> None:
    await define_field(harness, "plan", "dropdown", options=["Free", "Pro"])
    contact = await harness.create(custom_fields={"plan": "Pro"})
    response = await _patch_field(harness, "plan", {"type": "multi_select"})
    await job_finished(harness.client, response)
    assert (await _contact(harness, contact["id"]))["custom_fields"] == {"plan": ["Pro"]}


async def test_multi_select_to_dropdown_lists_a_contact_with_two_options(
    harness: Harness,
) -> None:
    await define_field(harness, "channels", "multi_select", options=["Email", "SMS"])
    one = await harness.create(custom_fields={"channels": ["Email"]})
    two = await harness.create(name="Grace", custom_fields={"channels": ["Email", "SMS"]})
    response = await _patch_field(harness, "channels", {"type": "dropdown"})
    job = await job_finished(harness.client, response)
    assert [e["contact_id"] for e in job["errors"]] == [two["id"]]
    assert "at most one option" in job["errors"][0]["reason"]
    assert (await _contact(harness, one["id"]))["custom_fields"] == {"channels": "Email"}


async def test_number_to_text_always_converts(harness: Harness) -> None:
    await define_field(harness, "seats", "number")
    contact = await harness.create(custom_fields={"seats": 7})
    response = await _patch_field(harness, "seats", {"type": "text"})
    await job_finished(harness.client, response)
    assert (await _contact(harness, contact["id"]))["custom_fields"] == {"seats": "7"}


async def test_text_to_dropdown_needs_options_and_matching_values(harness: Harness) -> None:
    await define_field(harness, "plan", "text")
    pro = await harness.create(custom_fields={"plan": "pro"})
    gold = await harness.create(name="Grace", custom_fields={"plan": "Gold"})
    without = await _patch_field(harness, "plan", {"type": "dropdown"})
    assert without.status_code == 422 and "options" in without.json()["detail"]
    converted = await _patch_field(harness, "plan", {"type": "dropdown", "options": ["Pro"]})
    job = await job_finished(harness.client, converted)
    assert [e["contact_id"] for e in job["errors"]] == [gold["id"]]
    assert (await _contact(harness, pro["id"]))["custom_fields"] == {"plan": "Pro"}


async def test_deleting_a_field_that_live_contacts_use_is_409(harness: Harness) -> None:
    await define_field(harness, "plan", "text")
    await harness.create(custom_fields={"plan": "pro"})
    response = await harness.client.delete("/v1/custom-fields/plan", headers=auth(ADMIN_KEY))
    assert response.status_code == 409
    assert "purge_values=true" in response.json()["detail"]
    assert (
        await harness.client.get("/v1/custom-fields/plan", headers=auth(VIEWER_KEY))
    ).status_code == 200


async def test_deleting_with_purge_values_removes_them_with_events(harness: Harness) -> None:
    await define_field(harness, "plan", "text")
    await define_field(harness, "seats", "number")
    contact = await harness.create(custom_fields={"plan": "pro", "seats": 2})
    response = await harness.client.delete(
        "/v1/custom-fields/plan?purge_values=true", headers=auth(ADMIN_KEY)
    )
    assert (await job_finished(harness.client, response))["kind"] == "field_purge"
    stored = await _contact(harness, contact["id"])
    assert (stored["custom_fields"], stored["version"]) == ({"seats": 2}, 2)
    [event] = await harness.outbox(ContactUpdated.event_type)
    assert event.key == contact["id"]
    assert event.data["changes"]["custom_fields"]["after"] == {"seats": 2}
    gone = await harness.client.get("/v1/custom-fields/plan", headers=auth(VIEWER_KEY))
    assert gone.status_code == 404


async def test_deleting_an_unused_field_is_202_and_its_key_becomes_unknown(
    harness: Harness,
) -> None:
    await define_field(harness, "plan", "text")
    response = await harness.client.delete("/v1/custom-fields/plan", headers=auth(ADMIN_KEY))
    assert response.status_code == 202
    refused = await harness.client.post(
        "/v1/contacts",
        json={"name": "Ada", "custom_fields": {"plan": "pro"}},
        headers=auth(EDITOR_KEY),
    )
    assert refused.status_code == 422


async def test_deleting_removes_values_of_soft_deleted_contacts_too(harness: Harness) -> None:
    await define_field(harness, "plan", "text")
    contact = await harness.create(custom_fields={"plan": "pro"})
    await harness.client.delete(f"/v1/contacts/{contact['id']}", headers=auth(EDITOR_KEY))
    response = await harness.client.delete("/v1/custom-fields/plan", headers=auth(ADMIN_KEY))
    await job_finished(harness.client, response)
    async with harness.app.state.store.reader() as session:
        stored = await session.get("contacts", tenant="acme", id=contact["id"])
    assert stored is not None and stored["custom_fields"] == {}


async def _hold_untyped(harness: Harness, values: list[Any]) -> list[str]:
    """Contacts holding `seats` values written before definitions existed (stored directly, as
    old data would be); their ids."""
    ids = []
    for value in values:
        contact = await harness.create()
        async with harness.app.state.store.transaction() as session:
            doc = await session.get("contacts", tenant="acme", id=contact["id"])
            assert doc is not None
            await session.replace("contacts", {**doc, "custom_fields": {"seats": value}})
        ids.append(contact["id"])
    return ids


async def _define_seats(harness: Harness) -> Any:
    body = {"key": "seats", "label": "Seats", "type": "number"}
    return await harness.client.post("/v1/custom-fields", json=body, headers=auth(ADMIN_KEY))


async def test_defining_a_key_that_contacts_hold_untyped_types_their_values_in_a_job(
    harness: Harness,
) -> None:
    typed, lost = await _hold_untyped(harness, ["12", "many"])
    response = await _define_seats(harness)
    assert response.status_code == 202, response.text
    assert response.json()["job"]["kind"] == "field_change"
    assert response.json()["job"]["params"] == {
        "key": "seats",
        "old": None,
        "new": {**response.json()["job"]["params"]["new"], "type": "number"},
    }
    job = await job_finished(harness.client, response)
    assert (job["status"], job["progress"]["changed"], job["progress"]["failed"]) == (
        "completed",
        1,
        1,
    )
    assert (await _contact(harness, typed))["custom_fields"] == {"seats": 12}
    # A value that does not convert stays, and the job names the contact and the rule.
    assert (await _contact(harness, lost))["custom_fields"] == {"seats": "many"}
    assert [e["contact_id"] for e in job["errors"]] == [lost]
    assert "untyped value does not convert to number" in job["errors"][0]["reason"]
    assert "many" not in job["errors"][0]["reason"]
    fields = await harness.client.get("/v1/custom-fields/seats", headers=auth(VIEWER_KEY))
    assert fields.json()["type"] == "number"  # the definition committed at once


async def test_defining_a_key_no_contact_holds_is_201_without_a_job(harness: Harness) -> None:
    await harness.create()
    response = await _define_seats(harness)
    assert (response.status_code, response.json()["job"]) == (201, None)
    assert response.headers["location"] == "/v1/custom-fields/seats"
