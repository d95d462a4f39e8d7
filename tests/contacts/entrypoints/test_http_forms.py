"""Public forms: admins define them; a submission with the form's key resolves the person."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crm_shared.events import ContactCreated, ErasureRequested, FormSubmitted
from crm_shared.rate_limit import Limit, RateLimiter
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope

SITE = "https://www.acme.example"
FORM: dict[str, Any] = {
    "name": "Newsletter",
    "fields": {"full_name": "name", "mail": "email", "tel": "phone", "org": "company"},
    "consent_purposes": [
        {"purpose": "newsletter", "channel": "email", "label": "Send me the newsletter"}
    ],
    "allowed_origins": [SITE, "http://localhost:3000"],
    "notice_version": "2026-01",
}


async def _form(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await client.post("/v1/forms", json={**FORM, **changes}, headers=auth(ADMIN_KEY))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _submit(
    client: httpx.AsyncClient,
    form: dict[str, Any],
    fields: dict[str, Any],
    *,
    consents: list[str] | None = None,
    key: str | None = None,
    origin: str | None = SITE,
) -> httpx.Response:
    headers = {"X-Form-Key": key if key is not None else form["key"]}
    if origin is not None:
        headers["Origin"] = origin
    body = {"fields": fields, "consents": consents or []}
    return await client.post(form["submit_url"], json=body, headers=headers)


async def test_an_admin_defines_a_form_and_gets_its_public_key(harness: Harness) -> None:
    form = await _form(harness.client)
    assert form["key"].startswith("fk_") and len(form["key"]) > 20
    assert form["submit_url"] == f"/v1/forms/{form['id']}/submissions"
    read = await harness.client.get(f"/v1/forms/{form['id']}", headers=auth(VIEWER_KEY))
    assert read.status_code == 200 and read.json() == form
    listed = await harness.client.get("/v1/forms", headers=auth(VIEWER_KEY))
    assert [f["id"] for f in listed.json()["items"]] == [form["id"]]


async def test_only_admins_define_forms_and_other_tenants_do_not_see_them(
    harness: Harness,
) -> None:
    editor = await harness.client.post("/v1/forms", json=FORM, headers=auth(EDITOR_KEY))
    assert editor.status_code == 403
    form = await _form(harness.client)
    other = await harness.client.get(f"/v1/forms/{form['id']}", headers=auth(OTHER_TENANT_KEY))
    assert other.status_code == 404
    listed = await harness.client.get("/v1/forms", headers=auth(OTHER_TENANT_KEY))
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"fields": {"full_name": "name"}}, "email or a phone"),
        ({"fields": {"mail": "email", "x": "password"}}, "unknown contact field"),
        ({"allowed_origins": ["https://acme.example/path"]}, "scheme://host"),
        ({"consent_purposes": [{"purpose": "Bad Purpose", "label": "x"}]}, "purpose"),
    ],
)
async def test_a_bad_form_definition_is_422_naming_the_problem(
    harness: Harness, change: dict[str, Any], named: str
) -> None:
    response = await harness.client.post(
        "/v1/forms", json={**FORM, **change}, headers=auth(ADMIN_KEY)
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert named in response.text


async def test_a_submission_creates_the_contact_and_reports_the_consents(
    harness: Harness,
) -> None:
    form = await _form(harness.client)
    response = await _submit(
        harness.client,
        form,
        {"full_name": "Ada Lovelace", "mail": "Ada@X.example", "org": "AE"},
        consents=["newsletter"],
    )
    assert response.status_code == 202, response.text
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    [created] = await harness.outbox(ContactCreated.event_type)
    assert created.data["source"] == "form"
    assert created.data["profile"]["email"] == "ada@x.example"
    assert created.envelope["actor"] == f"form:{form['id']}"
    [submitted] = await harness.outbox(FormSubmitted.event_type)
    assert submitted.key == created.data["contact_id"]
    assert submitted.data == {
        "contact_id": created.data["contact_id"],
        "form_id": form["id"],
        "consents": [{"purpose": "newsletter", "channel": "email"}],
        "notice_version": "2026-01",
    }


async def test_a_known_person_is_updated_not_duplicated_and_keeps_their_values(
    harness: Harness,
) -> None:
    known = await harness.create(name="Ada Lovelace", email="ada@x.example", company="AE")
    form = await _form(harness.client)
    response = await _submit(
        harness.client, form, {"full_name": "", "mail": "ada@x.example", "tel": "+14155552671"}
    )
    assert response.status_code == 202
    contact = (
        await harness.client.get(f"/v1/contacts/{known['id']}", headers=auth(VIEWER_KEY))
    ).json()
    assert (contact["name"], contact["company"]) == ("Ada Lovelace", "AE")
    assert contact["phone"] == "+14155552671"
    assert contact["sources"] == ["manual", "form"]


async def test_unknown_form_is_404_and_a_wrong_or_missing_key_401(harness: Harness) -> None:
    form = await _form(harness.client)
    fields = {"mail": "ada@x.example"}
    unknown = await _submit(
        harness.client, {**form, "submit_url": "/v1/forms/nope/submissions"}, fields
    )
    assert unknown.status_code == 404
    wrong = await _submit(harness.client, form, fields, key="fk_wrong")
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    missing = await harness.client.post(
        form["submit_url"], json={"fields": fields}, headers={"Origin": SITE}
    )
    assert missing.status_code == 401
    assert await harness.outbox(ContactCreated.event_type) == []


async def test_an_origin_off_the_allow_list_is_refused(harness: Harness) -> None:
    form = await _form(harness.client)
    fields = {"mail": "ada@x.example"}
    elsewhere = await _submit(harness.client, form, fields, origin="https://evil.example")
    assert elsewhere.status_code == 403
    assert "origin" in elsewhere.json()["detail"]
    no_origin = await _submit(harness.client, form, fields, origin=None)
    assert no_origin.status_code == 403
    assert await harness.outbox(ContactCreated.event_type) == []
    preflight = await harness.client.options(form["submit_url"], headers={"Origin": SITE})
    assert preflight.headers["Access-Control-Allow-Origin"] == SITE
    refused = await harness.client.options(
        form["submit_url"], headers={"Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in refused.headers


async def test_a_form_without_origins_accepts_any(harness: Harness) -> None:
    form = await _form(harness.client, allowed_origins=[])
    response = await _submit(harness.client, form, {"mail": "a@x.example"}, origin=None)
    assert response.status_code == 202


async def test_too_many_submissions_from_one_address_get_429_with_retry_after(
    harness: Harness,
) -> None:
    harness.app.state.form_limiter = RateLimiter(Limit(rate=0.01, burst=2))
    form = await _form(harness.client)
    statuses = [
        (await _submit(harness.client, form, {"mail": f"p{n}@x.example"})).status_code
        for n in range(3)
    ]
    assert statuses == [202, 202, 429]
    limited = await _submit(harness.client, form, {"mail": "late@x.example"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    # Another form has its own budget.
    other = await _form(harness.client, name="Other")
    assert (await _submit(harness.client, other, {"mail": "o@x.example"})).status_code == 202


async def test_bad_fields_and_unshown_consents_are_422_and_store_nothing(
    harness: Harness,
) -> None:
    form = await _form(harness.client)
    for fields, consents, named in (
        ({"mail": "ada@x.example", "password": "x"}, [], "fields.password"),
        ({"full_name": "Ada"}, [], "email or a phone"),
        ({"mail": "not an email"}, [], "email"),
        ({"mail": "ada@x.example"}, ["marketing"], "consents"),
    ):
        response = await _submit(harness.client, form, fields, consents=consents)
        assert response.status_code == 422, fields
        assert named in response.text
    assert await harness.outbox(ContactCreated.event_type) == []


async def test_an_erased_person_submitting_a_form_is_refused(harness: Harness) -> None:
    contact = await harness.create(name="Ada", email="ada@x.example")
    await harness.handle(envelope(ErasureRequested(erasure_id="e-1", contact_id=contact["id"])))
    form = await _form(harness.client)
    response = await _submit(
        harness.client, form, {"mail": "ADA@x.example"}, consents=["newsletter"]
    )
    assert response.status_code == 409
    assert await harness.outbox(FormSubmitted.event_type) == []


async def test_a_form_of_one_tenant_writes_only_to_that_tenant(harness: Harness) -> None:
    theirs = await harness.client.post("/v1/forms", json=FORM, headers=auth(OTHER_TENANT_KEY))
    response = await _submit(harness.client, theirs.json(), {"mail": "ada@x.example"})
    assert response.status_code == 202
    [created] = await harness.outbox(ContactCreated.event_type)
    assert created.envelope["tenant"] == "globex"
    mine = await harness.client.get("/v1/contacts", headers=auth(VIEWER_KEY))
    assert mine.json()["items"] == []


async def test_an_admin_changes_a_forms_fields_and_origins_and_its_key_stays(
    harness: Harness,
) -> None:
    form = await _form(harness.client)
    changed = {**FORM, "fields": {"mail": "email"}, "allowed_origins": ["https://new.example"]}

    response = await harness.client.put(
        f"/v1/forms/{form['id']}", json=changed, headers=auth(ADMIN_KEY)
    )
    editor = await harness.client.put(
        f"/v1/forms/{form['id']}", json=changed, headers=auth(EDITOR_KEY)
    )
    other = await harness.client.put(
        f"/v1/forms/{form['id']}", json=changed, headers=auth(OTHER_TENANT_KEY)
    )
    bad = await harness.client.put(
        f"/v1/forms/{form['id']}",
        json={**changed, "fields": {"x": "nope"}},
        headers=auth(ADMIN_KEY),
    )

    assert response.status_code == 200, response.text
    assert response.json()["fields"] == {"mail": "email"}
    assert response.json()["allowed_origins"] == ["https://new.example"]
    assert response.json()["key"] == form["key"]
    assert [editor.status_code, other.status_code, bad.status_code] == [403, 404, 422]
    refused = await _submit(harness.client, form, {"mail": "x@example.com"}, origin=SITE)
    assert refused.status_code == 403  # the old origin is no longer allowed
