"""`Idempotency-Key` on POST /v1/contacts: a lost answer can be retried without a second contact."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crm_shared.clock import utcnow
from crm_shared.events import ErasureRequested
from crm_shared.idempotency_records import IDEMPOTENCY_KEYS
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope
from tests.openapi_documents import OpenApiDocuments

CREATED = "crm.contacts.contact.created.v1"


def _headers(key: str, api_key: str = EDITOR_KEY) -> dict[str, str]:
    return {**auth(api_key), "Idempotency-Key": key}


async def test_a_replay_returns_the_first_answer_and_creates_nothing_more(
    harness: Harness,
) -> None:
    body = {"name": "Grace Hopper"}  # no email: without the key, a retry is a duplicate
    first = await harness.client.post("/v1/contacts", json=body, headers=_headers("k-1"))
    again = await harness.client.post("/v1/contacts", json=body, headers=_headers("k-1"))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    for header in ("location", "etag", "content-type"):
        assert again.headers[header] == first.headers[header]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(await harness.outbox(CREATED)) == 1
    listing = await harness.client.get("/v1/contacts", headers=auth(EDITOR_KEY))
    assert [c["id"] for c in listing.json()["items"]] == [first.json()["id"]]


async def test_the_same_object_serialised_differently_is_the_same_request(
    harness: Harness,
) -> None:
    headers = {**_headers("k-1"), "content-type": "application/json"}
    first = await harness.client.post(
        "/v1/contacts", content=b'{"name":"Ada","company":"AE"}', headers=headers
    )
    again = await harness.client.post(
        "/v1/contacts", content=b'{ "company": "AE", "name": "Ada" }', headers=headers
    )
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]


async def test_the_same_key_with_another_body_is_422_naming_the_header(
    harness: Harness,
) -> None:
    await harness.client.post("/v1/contacts", json={"name": "Ada"}, headers=_headers("k-1"))
    other = await harness.client.post(
        "/v1/contacts", json={"name": "Grace"}, headers=_headers("k-1")
    )
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["field"] == "Idempotency-Key"
    assert "different request" in other.json()["detail"]
    assert len(await harness.outbox(CREATED)) == 1


async def test_the_same_key_with_another_query_is_422(harness: Harness) -> None:
    body = {"name": "Ada", "email": "ada@example.com"}
    await harness.client.post("/v1/contacts", json=body, headers=_headers("k-1"))
    other = await harness.client.post(
        "/v1/contacts?allow_duplicate=true", json=body, headers=_headers("k-1")
    )
    assert other.status_code == 422


async def test_another_tenant_with_the_same_key_gets_its_own_contact(harness: Harness) -> None:
    body = {"name": "Ada"}
    ours = await harness.client.post("/v1/contacts", json=body, headers=_headers("k-1"))
    theirs = await harness.client.post(
        "/v1/contacts", json=body, headers=_headers("k-1", OTHER_TENANT_KEY)
    )
    assert theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != ours.json()["id"]
    assert len(await harness.outbox(CREATED)) == 2


async def test_a_failed_request_releases_the_key_for_a_corrected_retry(
    harness: Harness,
) -> None:
    refused = await harness.client.post(
        "/v1/contacts", json={"name": "Ada", "email": "not-an-email"}, headers=_headers("k-1")
    )
    assert refused.status_code == 422
    fixed = await harness.client.post(
        "/v1/contacts", json={"name": "Ada", "email": "ada@example.com"}, headers=_headers("k-1")
    )
    assert fixed.status_code == 201


async def test_a_role_too_low_keeps_nothing(harness: Harness) -> None:
    denied = await harness.client.post(
        "/v1/contacts", json={"name": "Ada"}, headers=_headers("k-1", VIEWER_KEY)
    )
    assert denied.status_code == 403
    async with harness.app.state.store.reader() as session:
        assert await session.count(IDEMPOTENCY_KEYS, tenant="acme") == 0


async def test_a_key_older_than_24_hours_does_the_work_again(harness: Harness) -> None:
    first = await harness.client.post("/v1/contacts", json={"name": "Ada"}, headers=_headers("k"))
    harness.app.state.clock = lambda: utcnow() + timedelta(hours=24, seconds=1)
    later = await harness.client.post("/v1/contacts", json={"name": "Ada"}, headers=_headers("k"))
    assert later.status_code == 201
    assert later.json()["id"] != first.json()["id"]
    assert "idempotent-replayed" not in later.headers


async def test_a_malformed_key_is_422_naming_the_header(harness: Harness) -> None:
    response = await harness.client.post(
        "/v1/contacts", json={"name": "Ada"}, headers=_headers("x" * 256)
    )
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]
    assert len(await harness.outbox(CREATED)) == 0


async def test_without_a_key_each_post_creates(harness: Harness) -> None:
    for _ in range(2):
        response = await harness.client.post(
            "/v1/contacts", json={"name": "Ada"}, headers=auth(EDITOR_KEY)
        )
        assert response.status_code == 201
    assert len(await harness.outbox(CREATED)) == 2


def test_the_openapi_document_declares_the_header(openapi_documents: OpenApiDocuments) -> None:
    operation = openapi_documents["contacts"]["paths"]["/v1/contacts"]["post"]
    names = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
    assert "Idempotency-Key" in names
    assert "application/problem+json" in operation["responses"]["409"]["content"]


async def test_an_erasure_forgets_the_kept_answer_that_quotes_the_person(
    harness: Harness,
) -> None:
    body = {"name": "Ada Lovelace", "email": "ada@example.com"}
    first = await harness.client.post("/v1/contacts", json=body, headers=_headers("k-1"))
    other = await harness.client.post("/v1/contacts", json={"name": "Bob"}, headers=_headers("k"))
    erasure = ErasureRequested(erasure_id="er-1", contact_id=first.json()["id"])
    await harness.handle(envelope(erasure))
    async with harness.app.state.store.reader() as session:
        kept = await session.find(IDEMPOTENCY_KEYS, tenant="acme")
    assert [doc["subjects"] for doc in kept] == [[other.json()["id"]]]
    assert "Lovelace" not in str(kept) and "ada@" not in str(kept)
    # The key no longer replays Ada: the retry is a new request, refused as the erased person.
    retry = await harness.client.post("/v1/contacts", json=body, headers=_headers("k-1"))
    assert retry.status_code == 409


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/tags", {"name": "VIP"}),
        ("/v1/accounts", {"name": "Analytical Engines"}),
        ("/v1/custom-fields", {"key": "plan", "label": "Plan", "type": "text"}),
        ("/v1/tag-rules", {"name": "Big", "filter": {"q": "ada"}, "tag": "Big"}),
    ],
    ids=["tag", "account", "custom-field", "tag-rule"],
)
async def test_other_creates_replay_instead_of_answering_409_exists(
    harness: Harness, path: str, body: dict[str, Any]
) -> None:
    first = await harness.client.post(path, json=body, headers=_headers("k", ADMIN_KEY))
    again = await harness.client.post(path, json=body, headers=_headers("k", ADMIN_KEY))
    # A tag rule is created at once and answers 202: its job tags the contacts it matches.
    created = 202 if path == "/v1/tag-rules" else 201
    assert first.status_code == created, first.text
    assert again.status_code == created, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


async def test_a_replayed_merge_returns_the_first_merge_and_merges_once(harness: Harness) -> None:
    primary = await harness.create(name="Ada Lovelace")
    dup = await harness.create(name="Ada L.")
    body = {"primary_id": primary["id"], "duplicate_ids": [dup["id"]]}
    first = await harness.client.post("/v1/merges", json=body, headers=_headers("m"))
    events = await harness.outbox()
    again = await harness.client.post("/v1/merges", json=body, headers=_headers("m"))
    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text  # without the key: 404, the duplicate is gone
    assert again.json()["id"] == first.json()["id"]
    assert len(await harness.outbox()) == len(events)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/bulk-actions", {"action": "delete", "filter": {"tag": ["bulk"]}}),
        ("/v1/campaigns", {"name": "Spring"}),
    ],
    ids=["bulk-action", "campaign"],
)
async def test_a_replayed_bulk_action_or_campaign_returns_the_first(
    harness: Harness, path: str, body: dict[str, Any]
) -> None:
    first = await harness.client.post(path, json=body, headers=_headers("b"))
    again = await harness.client.post(path, json=body, headers=_headers("b"))
    assert first.status_code < 300, first.text
    assert again.status_code == first.status_code
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
