"""Undoing a merge over HTTP: everything back as it was, unless something blocks it (409)."""

from __future__ import annotations

from datetime import timedelta

from crm_contacts.adapters.repository import MERGES
from crm_shared.clock import utcnow
from crm_shared.events import ContactUpdated, ErasureRequested, MergeUndone
from crm_shared.events.campaigns import CampaignMembershipChanged
from tests.conftest import ADMIN_KEY, EDITOR_KEY, auth
from tests.contacts.bulk_support import campaign, run_bulk
from tests.contacts.custom_field_support import define_fields
from tests.contacts.entrypoints.merge_support import (
    duplicate,
    get,
    merged,
    patch,
    undo,
    without_times,
)
from tests.contacts.helpers import Harness, envelope


def _days_later(harness: Harness, days: float) -> None:
    moment = utcnow() + timedelta(days=days)
    harness.app.state.clock = lambda: moment


async def test_undo_brings_every_contact_back_as_it_was_with_new_versions(
    harness: Harness,
) -> None:
    await define_fields(harness, plan="text")
    primary = await harness.create(
        name="Ada Lovelace", email="ada@a.example", tags=["VIP"], custom_fields={"plan": "free"}
    )
    second = await duplicate(
        harness,
        name="Ada King",
        email="ada@a.example",
        phone="+1 415 555 0100",
        company="Engines",
        tags=["Speaker"],
        custom_fields={"plan": "pro"},
    )
    third = await duplicate(harness, name="Ada", emails=["ada@c.example"], timezone="UTC")
    body = await merged(harness, primary["id"], second["id"], third["id"])

    response = await undo(harness, body["id"])

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "undone" and result["kept_changes"] == []
    for before, after in zip((primary, second, third), result["contacts"], strict=True):
        assert without_times(after) == without_times(before)
        assert after["version"] == before["version"] + 2  # bumped by the merge and by the undo
        fetched = await get(harness, before["id"])
        assert fetched.status_code == 200 and fetched.json() == after
    listed = await harness.client.get("/v1/contacts", headers=auth(EDITOR_KEY))
    assert len(listed.json()["items"]) == 3
    record = await harness.client.get(f"/v1/merges/{body['id']}", headers=auth(EDITOR_KEY))
    assert record.json()["status"] == "undone" and record.json()["undone_at"]


async def test_undo_after_the_primary_was_edited_keeps_the_edit_and_says_so(
    harness: Harness,
) -> None:
    primary = await harness.create(name="Ada Lovelace", email="ada@a.example")
    dup = await duplicate(harness, name="Ada", email="ada@b.example", company="Engines")
    body = await merged(harness, primary["id"], dup["id"])
    edited = await patch(harness, primary["id"], {"owner": "u7", "company": "Babbage & Co"})
    assert edited.status_code == 200

    response = await undo(harness, body["id"])

    assert response.status_code == 200, response.text
    assert sorted(response.json()["kept_changes"]) == ["company", "owner"]
    back = (await get(harness, primary["id"])).json()
    # Edited since the merge: kept. Untouched since: back to the pre-merge value.
    assert (back["owner"], back["company"]) == ("u7", "Babbage & Co")
    assert back["emails"] == []
    assert without_times((await get(harness, dup["id"])).json()) == without_times(dup)


async def test_undo_after_the_retention_period_is_a_409(harness: Harness) -> None:
    primary = await harness.create(name="Ada")
    dup = await duplicate(harness, name="Ada")
    body = await merged(harness, primary["id"], dup["id"])
    _days_later(harness, 31)

    response = await undo(harness, body["id"])

    assert response.status_code == 409
    assert "30-day retention" in response.json()["detail"]
    purge = await harness.client.post("/v1/contacts/purge", headers=auth(ADMIN_KEY))
    assert purge.json() == {"purged": 1}
    assert (await undo(harness, body["id"])).status_code == 409
    record = await harness.client.get(f"/v1/merges/{body['id']}", headers=auth(EDITOR_KEY))
    assert record.json()["status"] == "expired"


async def test_undo_within_the_retention_period_works(harness: Harness) -> None:
    primary = await harness.create(name="Ada")
    dup = await duplicate(harness, name="Ada")
    body = await merged(harness, primary["id"], dup["id"])
    _days_later(harness, 29)
    purge = await harness.client.post("/v1/contacts/purge", headers=auth(ADMIN_KEY))
    assert purge.json() == {"purged": 0}

    assert (await undo(harness, body["id"])).status_code == 200


async def test_a_later_merge_on_the_same_contact_blocks_the_undo_until_undone(
    harness: Harness,
) -> None:
    primary = await harness.create(name="Ada")
    dup = await duplicate(harness, name="Ada")
    other = await duplicate(harness, name="Ada")
    first = await merged(harness, primary["id"], dup["id"])
    second = await merged(harness, other["id"], primary["id"])

    blocked = await undo(harness, first["id"])

    assert blocked.status_code == 409
    assert blocked.json()["blocking_merge_id"] == second["id"]
    assert second["id"] in blocked.json()["detail"]
    assert (await undo(harness, second["id"])).status_code == 200
    assert (await undo(harness, first["id"])).status_code == 200
    assert (await get(harness, dup["id"])).status_code == 200


async def test_undo_twice_or_of_an_unknown_merge_is_refused(harness: Harness) -> None:
    primary = await harness.create(name="Ada")
    dup = await duplicate(harness, name="Ada")
    body = await merged(harness, primary["id"], dup["id"])
    assert (await undo(harness, body["id"])).status_code == 200

    again = await undo(harness, body["id"])
    assert again.status_code == 409 and "already undone" in again.json()["detail"]
    assert (await undo(harness, "no-such-merge")).status_code == 404


async def test_undo_is_refused_when_a_duplicates_email_now_belongs_to_another_contact(
    harness: Harness,
) -> None:
    primary = await harness.create(name="Ada")
    dup = await harness.create(name="Ada", email="ada@b.example")
    body = await merged(harness, primary["id"], dup["id"])
    # The primary took the email; it moves to a new contact after the merge.
    assert (await patch(harness, primary["id"], {"email": None})).status_code == 200
    newcomer = await harness.create(name="Someone", email="ada@b.example")

    response = await undo(harness, body["id"])

    assert response.status_code == 409
    assert response.json()["existing_id"] == newcomer["id"]
    assert (await get(harness, dup["id"])).json()["merged_into"] == primary["id"]


async def test_undo_publishes_merge_undone_for_every_contact_and_the_primary_update(
    harness: Harness,
) -> None:
    primary = await harness.create(name="Ada")
    dup = await duplicate(harness, name="Ada", company="Engines")
    body = await merged(harness, primary["id"], dup["id"])

    await undo(harness, body["id"])

    events = await harness.outbox(MergeUndone.event_type)
    assert [(e.key, e.data["version"]) for e in events] == [(primary["id"], 3), (dup["id"], 3)]
    assert events[1].data["profile"]["company"] == "Engines"
    assert events[0].data["profile"]["company"] is None
    update = [e for e in await harness.outbox(ContactUpdated.event_type)][-1]
    assert update.key == primary["id"] and update.data["version"] == 3
    assert update.data["changes"]["company"] == {"before": "Engines", "after": None}


async def test_erasing_a_merged_contact_drops_its_data_from_the_merge_record(
    harness: Harness,
) -> None:
    primary = await harness.create(name="Ada")
    dup = await duplicate(harness, name="Ada Secret", company="Hidden Ltd")
    body = await merged(harness, primary["id"], dup["id"])
    request = ErasureRequested(erasure_id="er-1", contact_id=dup["id"], identifier_hashes=[])

    await harness.handle(envelope(request))

    async with harness.app.state.store.reader() as session:
        record = await session.get(MERGES, tenant="acme", id=body["id"])
    assert record["status"] == "erased" and "Ada Secret" not in str(record)
    refused = await undo(harness, body["id"])
    assert refused.status_code == 409 and "erased" in refused.json()["detail"]


async def test_merge_unions_campaign_memberships_and_undo_gives_each_its_own_back(
    harness: Harness,
) -> None:
    spring, autumn = await campaign(harness, "Spring"), await campaign(harness, "Autumn")
    primary = await harness.create(name="Ada")
    dup = await duplicate(harness, name="Ada")
    for contact, chosen in ((primary, spring), (dup, autumn)):
        params = {"campaign_id": chosen["id"]}
        job = await run_bulk(harness, action="add_to_campaign", ids=[contact["id"]], params=params)
        assert job["status"] == "completed"

    body = await merged(harness, primary["id"], dup["id"])

    assert body["contact"]["campaigns"] == [spring["id"], autumn["id"]]
    members = await harness.client.get(
        "/v1/contacts", params={"campaign": autumn["id"]}, headers=auth(EDITOR_KEY)
    )
    assert [c["id"] for c in members.json()["items"]] == [primary["id"]]

    assert (await undo(harness, body["id"])).status_code == 200
    assert (await get(harness, primary["id"])).json()["campaigns"] == [spring["id"]]
    assert (await get(harness, dup["id"])).json()["campaigns"] == [autumn["id"]]
    moves = [
        (e.data["campaign_id"], e.data["change"], e.data["contact_version"])
        for e in await harness.outbox(CampaignMembershipChanged.event_type)
        if e.key == primary["id"]
    ]
    assert moves[-2:] == [(autumn["id"], "added", 3), (autumn["id"], "removed", 4)]
