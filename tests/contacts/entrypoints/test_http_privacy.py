"""`/v1/persons/resolve` and `/v1/suppressions`: every record of a person, the suppression list."""

from __future__ import annotations

from typing import Any

from crm_shared.events import ErasureRequested
from crm_shared.identity import identifier_hash
from crm_shared.settings import DEV_SUPPRESSION_KEY
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, auth
from tests.contacts.entrypoints.merge_support import duplicate, merged
from tests.contacts.helpers import Harness, envelope

RESOLVE = "/v1/persons/resolve"


async def _resolve(harness: Harness, key: str = ADMIN_KEY, **body: Any) -> dict[str, Any]:
    response = await harness.client.post(RESOLVE, json=body, headers=auth(key))
    assert response.status_code == 200, response.text
    return dict(response.json())


def _states(resolved: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["state"] for r in resolved["records"]}


async def test_email_finds_a_soft_deleted_duplicate_and_what_its_other_email_leads_to(
    harness: Harness,
) -> None:
    first = await harness.create(name="Ada One", email="ada@example.com", phone="+14155552671")
    second = await duplicate(harness, name="Ada Two", emails=["ada@example.com", "al@work.io"])
    third = await duplicate(harness, name="A. L.", email="al@work.io")
    stranger = await harness.create(name="Someone Else", email="else@example.com")
    await harness.client.delete(f"/v1/contacts/{second['id']}", headers=auth(EDITOR_KEY))

    resolved = await _resolve(harness, emails=["  ADA@example.com "])

    assert _states(resolved) == {first["id"]: "live", second["id"]: "deleted", third["id"]: "live"}
    assert stranger["id"] not in _states(resolved)
    key = DEV_SUPPRESSION_KEY.encode()
    for email in ("ada@example.com", "al@work.io"):
        assert identifier_hash(key, "email", email) in resolved["identifier_hashes"]
    assert identifier_hash(key, "phone", "+14155552671") in resolved["identifier_hashes"]
    assert "ada@example.com" not in str(resolved)


async def test_a_merged_away_contact_leads_to_its_primary(harness: Harness) -> None:
    primary = await harness.create(name="Ada Lovelace", email="ada@example.com")
    gone = await duplicate(harness, name="Ada Lovelace", phone="+14155552671")
    await merged(harness, primary["id"], gone["id"])

    resolved = await _resolve(harness, contact_ids=[gone["id"]])

    records = {r["id"]: r for r in resolved["records"]}
    assert records[gone["id"]]["state"] == "merged"
    assert records[gone["id"]]["merged_into"] == primary["id"]
    assert records[primary["id"]]["state"] == "live"


async def test_phone_selector_finds_the_contact_in_any_format(harness: Harness) -> None:
    contact = await harness.create(name="Ada", phone="+14155552671")
    resolved = await _resolve(harness, phones=["(415) 555-2671"])
    assert _states(resolved) == {contact["id"]: "live"}


async def test_another_tenant_finds_nothing(harness: Harness) -> None:
    await harness.create(name="Ada", email="ada@example.com")
    resolved = await _resolve(harness, OTHER_TENANT_KEY, emails=["ada@example.com"])
    assert resolved["records"] == []


async def test_resolving_is_for_admins_only(harness: Harness) -> None:
    response = await harness.client.post(
        RESOLVE, json={"emails": ["ada@example.com"]}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 403


async def test_an_empty_selector_and_a_bad_email_are_named(harness: Harness) -> None:
    empty = await harness.client.post(RESOLVE, json={}, headers=auth())
    assert empty.status_code == 422
    assert "contact_ids, emails or phones" in empty.text
    bad = await harness.client.post(RESOLVE, json={"emails": ["not-an-email"]}, headers=auth())
    assert bad.status_code == 400
    assert bad.headers["content-type"] == "application/problem+json"
    assert "emails[0]" in bad.json()["detail"]


async def _erase(harness: Harness, contact_id: str) -> None:
    await harness.handle(
        envelope(ErasureRequested(erasure_id="er-1", contact_id=contact_id, identifier_hashes=[]))
    )


async def test_check_reports_an_erased_persons_email_then_lifting_lets_it_back(
    harness: Harness,
) -> None:
    contact = await harness.create(name="Ada", email="ada@example.com")
    await _erase(harness, contact["id"])
    check = await harness.client.post(
        "/v1/suppressions/check", json={"emails": ["Ada@Example.com"]}, headers=auth(EDITOR_KEY)
    )
    assert check.status_code == 200
    assert check.json()["suppressed"] is True
    [suppressed_hash] = check.json()["hashes"]

    listed = await harness.client.get("/v1/suppressions", headers=auth())
    assert suppressed_hash in [item["hash"] for item in listed.json()["items"]]

    lifted = await harness.client.delete(
        f"/v1/suppressions/{suppressed_hash}",
        params={"reason": "person asked to rejoin"},
        headers=auth(),
    )
    assert lifted.status_code == 204
    [event] = await harness.outbox("crm.contacts.suppression.lifted.v1")
    assert event.data["identifier_hash"] == suppressed_hash
    assert event.data["reason"] == "person asked to rejoin"
    assert event.envelope["actor"].startswith("key:")
    again = await harness.client.post(
        "/v1/contacts", json={"name": "Ada", "email": "ada@example.com"}, headers=auth(EDITOR_KEY)
    )
    assert again.status_code == 201


async def test_lifting_needs_an_admin_and_a_reason_and_a_known_hash(harness: Harness) -> None:
    unknown = "ab" * 32
    url = f"/v1/suppressions/{unknown}"
    as_editor = await harness.client.delete(
        url, params={"reason": "why not"}, headers=auth(EDITOR_KEY)
    )
    assert as_editor.status_code == 403
    no_reason = await harness.client.delete(url, headers=auth())
    assert no_reason.status_code == 422
    assert "reason" in no_reason.text
    missing = await harness.client.delete(url, params={"reason": "why not"}, headers=auth())
    assert missing.status_code == 404


async def test_suppression_list_pages_with_a_cursor(harness: Harness) -> None:
    for n in range(3):
        contact = await harness.create(name=f"P{n}", email=f"p{n}@example.com")
        await harness.handle(
            envelope(
                ErasureRequested(
                    erasure_id=f"er-{n}", contact_id=contact["id"], identifier_hashes=[]
                )
            )
        )
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await harness.client.get("/v1/suppressions", params=params, headers=auth())).json()
        seen += [item["hash"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 3 and seen == sorted(seen)
    forged = await harness.client.get("/v1/suppressions", params={"cursor": "xyz"}, headers=auth())
    assert forged.status_code == 400


async def test_profiles_for_an_access_request_include_the_soft_deleted_record(
    harness: Harness,
) -> None:
    live = await harness.create(name="Ada One", email="ada@example.com")
    gone = await duplicate(harness, name="Ada Two", email="ada@example.com", tags=["vip"])
    await harness.client.delete(f"/v1/contacts/{gone['id']}", headers=auth(EDITOR_KEY))

    resolved = await _resolve(harness, emails=["ada@example.com"], with_profiles=True)

    profiles = {r["id"]: r["profile"] for r in resolved["records"]}
    assert profiles[live["id"]]["name"] == "Ada One"
    assert profiles[gone["id"]]["name"] == "Ada Two"
    assert "vip" in profiles[gone["id"]]["tags"]
    assert profiles[gone["id"]]["state"] == "deleted"
    assert profiles[gone["id"]]["deleted_at"] is not None
    without = await _resolve(harness, emails=["ada@example.com"])
    assert all(r["profile"] is None for r in without["records"])
