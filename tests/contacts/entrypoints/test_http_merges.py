"""Merging duplicates over HTTP: values, unions, choices, preview, refusals, events."""

from __future__ import annotations

import asyncio

from crm_shared.events import ContactsMerged, ContactUpdated
from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.custom_field_support import define_fields
from tests.contacts.entrypoints.merge_support import (
    duplicate,
    get,
    merge,
    merged,
    patch,
    preview,
)
from tests.contacts.helpers import Harness


async def test_merge_keeps_the_primary_values_and_unions_emails_phones_and_tags(
    harness: Harness,
) -> None:
    primary = await harness.create(
        name="Ada Lovelace", email="ada@example.com", phone="+44 20 7946 0958", tags=["VIP"]
    )
    dup = await duplicate(
        harness,
        name="A. Lovelace",
        email="ada@work.example",
        emails=["ada@example.com"],
        phone="+1 415 555 0100",
        company="Analytical Engines",
        tags=["vip", "Speaker"],
    )

    body = await merged(harness, primary["id"], dup["id"])

    contact = body["contact"]
    assert body["primary_id"] == primary["id"] and body["duplicate_ids"] == [dup["id"]]
    assert contact["id"] == primary["id"] and contact["version"] == primary["version"] + 1
    assert contact["name"] == "Ada Lovelace"  # the primary's value wins by default
    assert contact["company"] == "Analytical Engines"  # the primary had none
    assert contact["email"] == "ada@example.com"
    assert contact["emails"] == ["ada@work.example"]
    assert contact["phone"] == "+442079460958" and contact["phones"] == ["+14155550100"]
    assert contact["phones_raw"] == ["+1 415 555 0100"]
    assert contact["tags"] == ["VIP", "source:manual", "Speaker"]
    fetched = await get(harness, primary["id"])
    assert fetched.json() == contact


async def test_a_merged_away_contact_answers_404_naming_its_primary_everywhere(
    harness: Harness,
) -> None:
    primary = await harness.create(name="Ada Lovelace")
    dup = await duplicate(harness, name="Ada L.", email="ada@example.com")
    await merged(harness, primary["id"], dup["id"])

    for response in (
        await get(harness, dup["id"]),
        await patch(harness, dup["id"], {"name": "Ada"}),
        await harness.client.delete(f"/v1/contacts/{dup['id']}", headers=auth(EDITOR_KEY)),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["merged_into"] == primary["id"]
        assert f"merged into {primary['id']}" in response.json()["detail"]
    restore = await harness.client.post(
        f"/v1/contacts/{dup['id']}/restore", headers=auth(EDITOR_KEY)
    )
    assert restore.status_code == 409 and restore.json()["merged_into"] == primary["id"]
    for params in ({}, {"include_deleted": "true"}, {"deleted": "true"}):
        listed = await harness.client.get("/v1/contacts", params=params, headers=auth(EDITOR_KEY))
        assert dup["id"] not in [c["id"] for c in listed.json()["items"]], params


async def test_the_primary_takes_a_duplicates_email_and_the_email_stays_unique(
    harness: Harness,
) -> None:
    primary = await harness.create(name="Ada Lovelace")
    dup = await harness.create(name="Ada", email="ada@example.com")

    contact = (await merged(harness, primary["id"], dup["id"]))["contact"]

    assert contact["email"] == "ada@example.com"
    again = await harness.client.post(
        "/v1/contacts", json={"name": "X", "email": "ada@example.com"}, headers=auth(EDITOR_KEY)
    )
    assert again.status_code == 409 and again.json()["existing_id"] == primary["id"]


async def test_field_choices_take_the_chosen_contacts_values(harness: Harness) -> None:
    await define_fields(harness, plan="text", seats="number")
    primary = await harness.create(
        name="Ada", email="ada@old.example", custom_fields={"plan": "free", "seats": 1}
    )
    dup = await duplicate(
        harness,
        name="Ada Lovelace",
        email="ada@new.example",
        custom_fields={"plan": "pro", "seats": 5},
    )

    contact = (
        await merged(
            harness,
            primary["id"],
            dup["id"],
            field_choices={"name": dup["id"], "email": dup["id"], "custom_fields.plan": dup["id"]},
        )
    )["contact"]

    assert contact["name"] == "Ada Lovelace"
    assert contact["email"] == "ada@new.example" and contact["emails"] == ["ada@old.example"]
    assert contact["custom_fields"] == {"plan": "pro", "seats": 1}


async def test_three_contacts_merge_into_one(harness: Harness) -> None:
    primary = await harness.create(name="Ada Lovelace", email="ada@a.example")
    second = await duplicate(harness, name="Ada", email="ada@b.example", timezone="Europe/London")
    third = await duplicate(harness, name="Ada", email="ada@c.example", company="Engines")

    body = await merged(harness, primary["id"], second["id"], third["id"])

    contact = body["contact"]
    assert contact["emails"] == ["ada@b.example", "ada@c.example"]
    assert (contact["timezone"], contact["company"]) == ("Europe/London", "Engines")
    for dup in (second, third):
        assert (await get(harness, dup["id"])).json()["merged_into"] == primary["id"]
    listed = await harness.client.get("/v1/contacts", headers=auth(EDITOR_KEY))
    assert [c["id"] for c in listed.json()["items"]] == [primary["id"]]


async def test_preview_shows_the_merged_contact_and_conflicts_and_saves_nothing(
    harness: Harness,
) -> None:
    primary = await harness.create(name="Ada Lovelace", email="ada@a.example", company="Engines")
    dup = await duplicate(harness, name="Ada King", email="ada@b.example", company="engines")
    outbox_before = len(await harness.outbox())

    response = await preview(harness, primary["id"], dup["id"])

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["contact"]["name"] == "Ada Lovelace"
    assert body["contact"]["emails"] == ["ada@b.example"]
    assert body["contact"]["version"] == primary["version"]  # not saved, so not bumped
    conflicts = {c["field"]: c["values"] for c in body["conflicts"]}
    assert conflicts["name"] == [
        {"contact_id": primary["id"], "value": "Ada Lovelace"},
        {"contact_id": dup["id"], "value": "Ada King"},
    ]
    assert set(conflicts) == {"name", "email"}  # "Engines" and "engines" do not conflict
    assert (await get(harness, primary["id"])).json() == primary
    assert (await get(harness, dup["id"])).json() == dup
    assert len(await harness.outbox()) == outbox_before


async def test_merge_refusals_say_which(harness: Harness) -> None:
    primary = await harness.create(name="Ada")
    dup = await duplicate(harness, name="Ada")
    foreign = await harness.create(key=OTHER_TENANT_KEY, name="Ada")

    cases = [
        ((primary["id"], primary["id"]), {}, 422, "cannot be merged with itself"),
        ((primary["id"], dup["id"], dup["id"]), {}, 422, "more than once"),
        ((primary["id"], *[f"id-{n}" for n in range(51)]), {}, 422, "at most 50"),
        ((primary["id"], foreign["id"]), {}, 404, f"contact {foreign['id']} not found"),
        ((primary["id"], dup["id"]), {"field_choices": {"bogus": dup["id"]}}, 422, "bogus"),
        ((primary["id"], dup["id"]), {"field_choices": {"name": "x"}}, 422, "merged contacts"),
    ]
    for (first, *rest), extra, status, words in cases:
        response = await merge(harness, first, *rest, **extra)
        assert response.status_code == status, (words, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert words in response.json()["detail"]
    viewer = await merge(harness, primary["id"], dup["id"], key=VIEWER_KEY)
    assert viewer.status_code == 403


async def test_merging_an_already_merged_or_deleted_contact_is_a_409(harness: Harness) -> None:
    primary = await harness.create(name="Ada")
    dup = await duplicate(harness, name="Ada")
    deleted = await duplicate(harness, name="Ada")
    await harness.client.delete(f"/v1/contacts/{deleted['id']}", headers=auth(EDITOR_KEY))
    await merged(harness, primary["id"], dup["id"])
    other = await duplicate(harness, name="Ada")

    again = await merge(harness, other["id"], dup["id"])
    assert again.status_code == 409
    assert again.json()["merged_into"] == primary["id"]
    assert "already merged into" in again.json()["detail"]
    gone = await merge(harness, primary["id"], deleted["id"])
    assert gone.status_code == 409 and "is deleted" in gone.json()["detail"]


async def test_a_stale_if_match_answers_412_naming_the_contact(harness: Harness) -> None:
    primary = await harness.create(name="Ada")
    dup = await duplicate(harness, name="Ada")
    await patch(harness, dup["id"], {"company": "Engines"})

    response = await merge(
        harness, primary["id"], dup["id"], if_match={primary["id"]: '"1"', dup["id"]: '"1"'}
    )

    assert response.status_code == 412
    assert response.json()["contact_id"] == dup["id"]
    assert (await get(harness, dup["id"])).status_code == 200
    fine = await merge(harness, primary["id"], dup["id"], if_match={dup["id"]: 'W/"2"'})
    assert fine.status_code == 201


async def test_a_merge_racing_an_edit_loses_no_update(harness: Harness) -> None:
    primary = await harness.create(name="Ada")
    dup = await duplicate(harness, name="Ada")

    response = await merge(harness, primary["id"], dup["id"], if_match={primary["id"]: "1"})
    assert response.status_code == 201
    # The edit was based on the version before the merge: it must not overwrite the merge.
    edit = await patch(harness, primary["id"], {"company": "Engines"}, **{"If-Match": '"1"'})
    assert edit.status_code == 412
    late = await patch(harness, dup["id"], {"company": "Engines"}, **{"If-Match": '"1"'})
    assert late.status_code == 404 and late.json()["merged_into"] == primary["id"]

    # The other order: the edit lands first, and the merge based on the old version is refused.
    third = await duplicate(harness, name="Ada")
    assert (await patch(harness, third["id"], {"owner": "u1"})).status_code == 200
    stale = await merge(harness, primary["id"], third["id"], if_match={third["id"]: "1"})
    assert stale.status_code == 412
    assert (await get(harness, third["id"])).json()["owner"] == "u1"


async def test_merge_publishes_contacts_merged_for_the_primary_and_each_duplicate(
    harness: Harness,
) -> None:
    primary = await harness.create(name="Ada")
    second = await duplicate(harness, name="Ada", company="Engines")
    third = await duplicate(harness, name="Ada")

    body = await merged(harness, primary["id"], second["id"], third["id"])

    events = await harness.outbox(ContactsMerged.event_type)
    assert [e.key for e in events] == [primary["id"], second["id"], third["id"]]
    for event in events:
        assert event.data["merge_id"] == body["id"]
        assert event.data["contact_id"] == event.key
        assert event.data["primary_id"] == primary["id"]
        assert event.data["duplicate_ids"] == [second["id"], third["id"]]
        assert event.data["profile"]["company"] == "Engines"
    versions = {e.key: e.data["version"] for e in events}
    assert versions == {primary["id"]: 2, second["id"]: 2, third["id"]: 2}
    updates = [e for e in await harness.outbox(ContactUpdated.event_type) if e.key == primary["id"]]
    assert updates[-1].data["changes"]["company"] == {"before": None, "after": "Engines"}
    fetched = await harness.client.get(f"/v1/merges/{body['id']}", headers=auth(VIEWER_KEY))
    assert fetched.status_code == 200 and fetched.json()["status"] == "merged"


async def test_a_merge_and_an_edit_sent_at_once_one_wins_the_other_is_refused(
    harness: Harness,
) -> None:
    primary = await harness.create(name="Ada")
    dup = await duplicate(harness, name="Ada")

    merge_response, edit = await asyncio.gather(
        merge(harness, primary["id"], dup["id"], if_match={dup["id"]: "1"}),
        patch(harness, dup["id"], {"company": "Engines"}, **{"If-Match": "1"}),
    )

    statuses = sorted([merge_response.status_code, edit.status_code])
    if merge_response.status_code == 201:
        assert edit.status_code in (404, 409, 412), edit.text
        assert (await get(harness, dup["id"])).json()["merged_into"] == primary["id"]
    else:
        assert statuses == [200, 412], merge_response.text
        assert (await get(harness, dup["id"])).json()["company"] == "Engines"


async def test_an_if_match_header_guards_the_primary(harness: Harness) -> None:
    primary = await harness.create(name="Ada")
    dup = await duplicate(harness, name="Ada")
    await patch(harness, primary["id"], {"owner": "u1"})
    body = {"primary_id": primary["id"], "duplicate_ids": [dup["id"]]}

    stale = await harness.client.post(
        "/v1/merges", json=body, headers={**auth(EDITOR_KEY), "If-Match": '"1"'}
    )
    fresh = await harness.client.post(
        "/v1/merges", json=body, headers={**auth(EDITOR_KEY), "If-Match": '"2"'}
    )

    assert stale.status_code == 412 and stale.json()["contact_id"] == primary["id"]
    assert fresh.status_code == 201
