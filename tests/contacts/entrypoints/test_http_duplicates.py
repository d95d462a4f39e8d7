"""The duplicates API over HTTP: a contact's duplicates, create-time check, groups, dismiss."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from crm_shared.events import ImportBatchProcessed
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope, import_batch
from tests.polling import eventually


async def _groups(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/duplicates", params=params, headers=auth(VIEWER_KEY))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _eventually_groups(
    client: httpx.AsyncClient, count: int, **params: Any
) -> list[dict[str, Any]]:
    """The groups once the background refresh has caught up (it runs every 0.2 s when idle)."""
    body = await eventually(
        lambda: _groups(client, **params),
        lambda page: len(page["items"]) == count,
        what=f"{count} duplicate groups",
    )
    return list(body["items"])


async def _duplicates(client: httpx.AsyncClient, contact_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/contacts/{contact_id}/duplicates", headers=auth(VIEWER_KEY))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_contact_duplicates_by_email_phone_and_similar_name_best_first(
    harness: Harness,
) -> None:
    ada = await harness.create(
        name="Ada Lovelace", email="ada@analytical.io", phone="+1 415 555 0123", company="Acme"
    )
    # Same additional email, different name: an exact identifier.
    by_email = await harness.create(name="A. King", emails=["ADA@analytical.io"])
    # The primary phone as an additional one, typed differently.
    by_phone = await harness.create(name="Someone Else", phones=["(415) 555-0123"])
    by_name = await harness.create(name="lovelace, ADA", company="ACME")
    await harness.create(name="Grace Hopper", company="Acme")
    items = await _duplicates(harness.client, ada["id"])
    found = {item["contact"]["id"]: item for item in items}
    assert set(found) == {by_email["id"], by_phone["id"], by_name["id"]}
    assert found[by_email["id"]]["reasons"] == ["same_email"]
    assert found[by_phone["id"]]["reasons"] == ["same_phone"]
    assert found[by_name["id"]]["reasons"] == ["similar_name", "same_company"]
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    assert found[by_email["id"]]["score"] >= 0.95 > found[by_name["id"]]["score"] >= 0.8
    assert items[0]["contact"]["name"] == "A. King"  # the public contact shape


async def test_names_match_across_accents_case_order_and_nicknames(harness: Harness) -> None:
    zoe = await harness.create(name="Zoë Müller", email="zoe@globex.com")
    twin = await harness.create(name="MULLER Zoe", email="z.muller@globex.com")
    bob = await harness.create(name="Robert Smith", company="Initech")
    bobby = await harness.create(name="Bob Smith", company="Initech")
    typo = await harness.create(name="Robert Smtih", company="Initech")
    zoes = await _duplicates(harness.client, zoe["id"])
    assert [(i["contact"]["id"], i["reasons"]) for i in zoes] == [
        (twin["id"], ["similar_name", "same_email_domain"])
    ]
    bobs = {i["contact"]["id"]: i["reasons"] for i in await _duplicates(harness.client, bob["id"])}
    assert bobs == {
        bobby["id"]: ["similar_name", "same_company"],
        typo["id"]: ["similar_name", "same_company"],
    }


async def test_name_alone_scores_lower_than_with_a_shared_company(harness: Harness) -> None:
    ada = await harness.create(name="Ada Lovelace", company="Acme")
    alone = await harness.create(name="Ada Lovelace")
    corroborated = await harness.create(name="Ada Lovelace", company="acme")
    # The same name at another employer, and a merely similar name: not duplicates.
    await harness.create(name="Ada Lovelace", company="Globex")
    await harness.create(name="Adah Lovelaze")  # 0.88: similar, not very close
    items = await _duplicates(harness.client, ada["id"])
    scores = {i["contact"]["id"]: i["score"] for i in items}
    assert set(scores) == {alone["id"], corroborated["id"]}
    assert scores[alone["id"]] <= 0.7 < scores[corroborated["id"]]


async def test_create_with_check_duplicates_answers_possible_duplicates(harness: Harness) -> None:
    ada = await harness.create(name="Ada Lovelace", email="ada@example.com")
    response = await harness.client.post(
        "/v1/contacts",
        params={"check_duplicates": "true", "allow_duplicate": "true"},
        json={"name": "Ada Lovelace", "email": "ada@example.com"},
        headers=auth(EDITOR_KEY),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Ada Lovelace"
    [candidate] = body["possible_duplicates"]
    assert candidate["contact"]["id"] == ada["id"]
    assert candidate["reasons"] == ["same_email", "similar_name"]
    plain = await harness.client.post(
        "/v1/contacts", json={"name": "Grace Hopper"}, headers=auth(EDITOR_KEY)
    )
    assert "possible_duplicates" not in plain.json()


async def test_deleted_contacts_are_no_duplicates_and_other_tenants_see_nothing(
    harness: Harness,
) -> None:
    ada = await harness.create(name="Ada Lovelace", phone="+14155550100")
    gone = await harness.create(name="Ada Lovelace", phone="+14155550100")
    response = await harness.client.delete(f"/v1/contacts/{gone['id']}", headers=auth(EDITOR_KEY))
    assert response.status_code == 204
    assert await _duplicates(harness.client, ada["id"]) == []
    other = await harness.client.get(
        f"/v1/contacts/{ada['id']}/duplicates", headers=auth(OTHER_TENANT_KEY)
    )
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("application/problem+json")


async def test_groups_are_kept_current_as_contacts_change(harness: Harness) -> None:
    ada = await harness.create(name="Ada Lovelace", email="ada@example.com")
    twin = await harness.create(name="Ada Byron", emails=["ada@example.com"])
    [group] = await _eventually_groups(harness.client, 1)
    assert sorted(group["contact_ids"]) == sorted([ada["id"], twin["id"]])
    assert group["reasons"] == ["same_email"] and group["score"] >= 0.95
    # The twin's email changes: no reason left, the group goes.
    response = await harness.client.patch(
        f"/v1/contacts/{twin['id']}", json={"emails": []}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 200
    await _eventually_groups(harness.client, 0)
    # A new similar contact forms a group; deleting one member removes it.
    lookalike = await harness.create(name="ada lovelace")
    [group] = await _eventually_groups(harness.client, 1)
    assert set(group["contact_ids"]) == {ada["id"], lookalike["id"]}
    await harness.client.delete(f"/v1/contacts/{lookalike['id']}", headers=auth(EDITOR_KEY))
    await _eventually_groups(harness.client, 0)
    restored = await harness.client.post(
        f"/v1/contacts/{lookalike['id']}/restore", headers=auth(EDITOR_KEY)
    )
    assert restored.status_code == 200
    await _eventually_groups(harness.client, 1)


async def test_groups_page_by_score_with_min_score_and_cursor(harness: Harness) -> None:
    pairs = [
        ("Ada Lovelace", "Augusta King"),
        ("Alan Turing", "Joan Clarke"),
        ("Tim Lee", "Vint Cerf"),
    ]
    for n, (first, second) in enumerate(pairs):  # three exact-email pairs
        await harness.create(name=first, email=f"p{n}@example.com")
        await harness.create(name=second, emails=[f"p{n}@example.com"])
    await harness.create(name="Grace Hopper")
    await harness.create(name="Grace Hopper")  # a name-only pair, score 0.7
    await _eventually_groups(harness.client, 4)
    strong = (await _groups(harness.client, min_score=0.9))["items"]
    assert len(strong) == 3
    first = await _groups(harness.client, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = await _groups(harness.client, limit=2, cursor=first["next_cursor"])
    assert second["next_cursor"] is None
    listed = [g["id"] for g in first["items"] + second["items"]]
    assert len(set(listed)) == 4
    scores = [g["score"] for g in first["items"] + second["items"]]
    assert scores == sorted(scores, reverse=True) and scores[-1] == 0.7


async def test_dismissed_group_is_remembered_until_a_new_reason_appears(harness: Harness) -> None:
    ada = await harness.create(name="Ada Lovelace", company="Acme")
    twin = await harness.create(name="Ada Lovelace", company="Acme")
    [group] = await _eventually_groups(harness.client, 1)
    viewer = await harness.client.post(
        f"/v1/duplicates/{group['id']}/dismiss", headers=auth(VIEWER_KEY)
    )
    assert viewer.status_code == 403
    response = await harness.client.post(
        f"/v1/duplicates/{group['id']}/dismiss", headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 200 and response.json()["dismissed"] is True
    assert (await _groups(harness.client))["items"] == []
    assert await _duplicates(harness.client, ada["id"]) == []
    # An unrelated edit (same reasons) keeps it dismissed.
    await harness.client.patch(
        f"/v1/contacts/{twin['id']}", json={"timezone": "Europe/London"}, headers=auth(EDITOR_KEY)
    )
    await harness.client.patch(
        f"/v1/contacts/{twin['id']}", json={"company": "ACME"}, headers=auth(EDITOR_KEY)
    )
    await asyncio.sleep(0.5)
    assert (await _groups(harness.client))["items"] == []
    # Now they share a phone: new evidence, the group comes back with the same id.
    for contact in (ada, twin):
        await harness.client.patch(
            f"/v1/contacts/{contact['id']}",
            json={"phone": "+14155550100"},
            headers=auth(EDITOR_KEY),
        )
    [back] = await _eventually_groups(harness.client, 1)
    assert back["id"] == group["id"] and "same_phone" in back["reasons"]
    missing = await harness.client.post("/v1/duplicates/nope/dismiss", headers=auth(EDITOR_KEY))
    assert missing.status_code == 404


async def test_bad_listing_parameters_are_4xx_problems(harness: Harness) -> None:
    for params in ({"min_score": "2"}, {"limit": "0"}, {"cursor": "forged.cursor"}):
        response = await harness.client.get(
            "/v1/duplicates", params=params, headers=auth(VIEWER_KEY)
        )
        assert response.status_code in (400, 422), params
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_import_matches_any_email_or_phone_and_queues_new_contacts(harness: Harness) -> None:
    ada = await harness.create(name="Ada Lovelace", emails=["ada@second.io"])
    grace = await harness.create(name="Grace Hopper", phones=["+1 415 555 0199"])
    batch = import_batch(
        [
            {"name": "Ada L", "email": "ADA@second.io"},
            {"name": "G. Hopper", "phone": "(415) 555-0199"},
            {"name": "Alan Turing", "email": "alan@example.com", "company": "Bletchley"},
            {"name": "Alan Turing", "company": "Bletchley"},
        ],
        policy="skip",
    )
    await harness.handle(envelope(batch))
    [processed] = await harness.outbox(ImportBatchProcessed.event_type)
    results = processed.data["results"]
    assert [(r["status"], r["contact_id"]) for r in results[:2]] == [
        ("skipped", ada["id"]),
        ("skipped", grace["id"]),
    ]
    assert [r["status"] for r in results[2:]] == ["created", "created"]
    [group] = await _eventually_groups(harness.client, 1)
    assert set(group["contact_ids"]) == {results[2]["contact_id"], results[3]["contact_id"]}


async def test_full_scan_rebuilds_groups_and_needs_an_admin(harness: Harness) -> None:
    await harness.create(name="Ada Lovelace", company="Acme")
    await harness.create(name="Ada Lovelace", company="Acme")
    await _eventually_groups(harness.client, 1)
    editor = await harness.client.post("/v1/duplicates/scan", headers=auth(EDITOR_KEY))
    assert editor.status_code == 403
    response = await harness.client.post("/v1/duplicates/scan", headers=auth(ADMIN_KEY))
    assert response.status_code == 202 and response.json()["status"] == "running"
    finished = await eventually(
        lambda: harness.client.get("/v1/duplicates/scan", headers=auth(ADMIN_KEY)),
        lambda response: response.json()["status"] != "running",
        what="the scan to finish",
    )
    status = finished.json()
    assert status["status"] == "completed" and status["contacts"] == 2 and status["groups"] == 1
    assert len((await _groups(harness.client))["items"]) == 1
