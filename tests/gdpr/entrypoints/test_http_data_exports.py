"""`/v1/data-exports`: the data-subject access bundle, audited without its content."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crm_gdpr.entrypoints.consumers import GdprBuses
from crm_shared.events import ContactDeleted
from crm_shared.identity import PersonIdentifiers, person_hashes
from crm_shared.settings import DEV_SUPPRESSION_KEY
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, auth
from tests.gdpr.fakes import ALICE, ALICE_ID, IMPORTER_URL, TIMELINE_URL, FakeUpstream, wrap

PATH = "/v1/data-exports"
ACTIVITIES = [{"id": f"act{n}", "summary": f"chat {n}"} for n in range(5)]


@pytest.fixture
def upstream() -> FakeUpstream:
    fake = FakeUpstream(timeline_page_size=2)
    fake.add_contact("acme", dict(ALICE))
    fake.timeline[("acme", ALICE_ID)] = list(ACTIVITIES)
    return fake


async def _export(client: httpx.AsyncClient, key: str = ADMIN_KEY) -> httpx.Response:
    return await client.post(PATH, json={"contact_id": ALICE_ID}, headers=auth(key))


async def _audit_log(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/v1/audit-log", params={"contact_id": ALICE_ID}, headers=auth())
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_export_bundles_contact_timeline_consents_and_audit(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    await client.post(
        f"/v1/contacts/{ALICE_ID}/consents",
        json={"purpose": "newsletter", "status": "granted"},
        headers=auth(EDITOR_KEY),
    )
    await consumers.audit.handle(wrap(ContactDeleted(contact_id=ALICE_ID, version=4)))
    response = await _export(client)
    assert response.status_code == 200
    bundle = response.json()
    assert bundle["contact"] == ALICE
    assert bundle["timeline"] == [{"contact_id": ALICE_ID, **item} for item in ACTIVITIES]
    assert bundle["csv"]["timeline"].splitlines()[0] == "contact_id,id,summary"
    assert bundle["records"][0]["name"] == ALICE["name"]
    assert [(p["purpose"], p["status"]) for p in bundle["consents"]] == [("newsletter", "granted")]
    assert [e["action"] for e in bundle["audit"]] == ["crm.contacts.contact.deleted.v1"]
    assert bundle["generated_at"].endswith("Z")


async def test_export_forwards_the_callers_authorization_to_both_services(
    client: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    await _export(client)
    timeline_calls = [r for r in upstream.requests if str(r.url).startswith(TIMELINE_URL)]
    assert len(timeline_calls) == 3
    assert {r.headers["authorization"] for r in upstream.requests} == {f"Bearer {ADMIN_KEY}"}


async def test_export_is_recorded_in_the_audit_log_without_the_data(
    client: httpx.AsyncClient,
) -> None:
    await _export(client)
    [entry] = await _audit_log(client)
    assert entry["action"] == "gdpr.data-export"
    assert entry["target"] == ALICE_ID
    assert entry["actor"].startswith("key:")
    text = str(entry)
    assert ALICE["email"] not in text and ALICE["name"] not in text and "chat 0" not in text


async def test_export_audit_entry_keeps_the_chain_valid(client: httpx.AsyncClient) -> None:
    await _export(client)
    await _export(client)
    report = (await client.get("/v1/audit-log/verify", headers=auth())).json()
    assert report == {"valid": True, "checked": 2, "first_broken_seq": None}


async def test_editor_cannot_export(client: httpx.AsyncClient) -> None:
    assert (await _export(client, EDITOR_KEY)).status_code == 403


async def test_export_of_another_tenants_contact_is_not_found(
    client: httpx.AsyncClient,
) -> None:
    assert (await _export(client, OTHER_TENANT_KEY)).status_code == 404
    assert await _audit_log(client) == []


async def test_export_with_the_timeline_failing_is_503_and_not_audited(
    client: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    upstream.timeline_status = 500
    response = await _export(client)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert await _audit_log(client) == []


async def test_the_bundle_holds_the_import_rows_that_mention_the_person(
    client: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    alice = person_hashes(
        DEV_SUPPRESSION_KEY.encode(), PersonIdentifiers.of_contact(ALICE), region="US"
    )
    row = {
        "job_id": "job-1",
        "row_number": 3,
        "outcome": "failed",
        "reason": "row 3: name is required to create a contact",
        "warnings": [],
        "row": {"Email": ALICE["email"]},
    }
    upstream.import_rows["acme"] = [
        ({alice[0]}, row),
        ({"f" * 64}, {**row, "row_number": 4, "row": {"Email": "someone@else.example"}}),
    ]
    bundle = (await _export(client)).json()
    assert bundle["import_rows"] == [{**row, "warnings": ""}]
    header, line = bundle["csv"]["import_rows"].splitlines()
    assert header == "job_id,row_number,outcome,reason,warnings,row"
    assert ALICE["email"] in line
    importer_calls = [r for r in upstream.requests if str(r.url).startswith(IMPORTER_URL)]
    [call] = importer_calls
    assert set(call.url.params.get_list("identifier_hash")) == set(alice)


async def test_an_unreachable_importer_fails_the_bundle_rather_than_leave_rows_out(
    client: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    upstream.import_rows_status = 503
    response = await _export(client)
    assert response.status_code == 503


async def test_the_bundle_says_what_the_console_holds_and_how_long(
    client: httpx.AsyncClient,
) -> None:
    response = await _export(client)

    [held] = response.json()["held_elsewhere"]
    assert held["holder"] == "console"
    assert "CONSOLE_UPLOAD_HOLD_MINUTES" in held["kept"] and "at most 1440" in held["kept"]
    assert "refuses the erased person's rows" in held["erasure"]
