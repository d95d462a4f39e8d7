"""`Idempotency-Key` on erasure requests, consent records and data-subject exports."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from crm_gdpr.adapters.repositories import ERASURE_REQUESTS
from crm_shared.actors import key_actor
from crm_shared.auth import fingerprint
from crm_shared.idempotency_records import IDEMPOTENCY_KEYS, record_id
from crm_shared.storage import DocumentStore
from tests.conftest import ADMIN_KEY, OTHER_TENANT_KEY, auth
from tests.gdpr.fakes import ALICE, ALICE_ID, FakeUpstream, outbox

PATH_EXPORTS = "/v1/data-exports"
CONSENT = {"purpose": "newsletter", "status": "granted", "source": "form", "channel": "email"}
ROUTES = pytest.mark.parametrize(
    ("path", "body", "other_body"),
    [
        ("/v1/erasure-requests", {"contact_id": ALICE_ID}, {"contact_id": "nobody"}),
        (
            f"/v1/contacts/{ALICE_ID}/consents",
            CONSENT,
            {**CONSENT, "status": "withdrawn"},
        ),
        ("/v1/data-exports", {"contact_id": ALICE_ID}, {"contact_id": "nobody"}),
    ],
    ids=["erasure", "consent", "data-export"],
)


def _h(key: str, api_key: str = ADMIN_KEY) -> dict[str, str]:
    return {**auth(api_key), "Idempotency-Key": key}


async def _audit(client: httpx.AsyncClient, api_key: str = ADMIN_KEY) -> list[dict[str, Any]]:
    response = await client.get("/v1/audit-log", headers=auth(api_key))
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@ROUTES
async def test_a_replay_returns_the_first_answer_and_does_nothing_again(
    client: httpx.AsyncClient,
    store: DocumentStore,
    path: str,
    body: dict[str, Any],
    other_body: Any,
) -> None:
    first = await client.post(path, json=body, headers=_h("k-1"))
    events, audit = await outbox(store), await _audit(client)
    again = await client.post(path, json=body, headers=_h("k-1"))
    assert first.status_code == again.status_code, first.text
    assert first.status_code < 300
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(await outbox(store)) == len(events)
    assert len(await _audit(client)) == len(audit)


@ROUTES
async def test_the_same_key_with_another_body_is_422(
    client: httpx.AsyncClient,
    store: DocumentStore,
    path: str,
    body: dict[str, Any],
    other_body: dict[str, Any],
) -> None:
    await client.post(path, json=body, headers=_h("k-1"))
    events = await outbox(store)
    other = await client.post(path, json=other_body, headers=_h("k-1"))
    assert other.status_code == 422
    assert other.json()["field"] == "Idempotency-Key"
    assert len(await outbox(store)) == len(events)


async def test_another_tenant_with_the_same_key_gets_its_own_erasure(
    client: httpx.AsyncClient, store: DocumentStore, upstream: FakeUpstream
) -> None:
    upstream.add_contact("globex", dict(ALICE))
    ours = await client.post("/v1/erasure-requests", json={"contact_id": ALICE_ID}, headers=_h("k"))
    theirs = await client.post(
        "/v1/erasure-requests", json={"contact_id": ALICE_ID}, headers=_h("k", OTHER_TENANT_KEY)
    )
    assert theirs.status_code == 202, theirs.text
    assert theirs.json()["id"] != ours.json()["id"]
    async with store.reader() as session:
        assert await session.count(ERASURE_REQUESTS, tenant="globex") == 1


async def test_an_erasure_request_forgets_the_kept_data_export(
    client: httpx.AsyncClient, store: DocumentStore
) -> None:
    export = await client.post(PATH_EXPORTS, json={"contact_id": ALICE_ID}, headers=_h("x"))
    assert export.status_code == 200
    erasure = await client.post(
        "/v1/erasure-requests", json={"contact_id": ALICE_ID}, headers=_h("e")
    )
    assert erasure.status_code == 202
    key_id = key_actor(fingerprint(ADMIN_KEY))
    async with store.reader() as session:
        kept_export = await session.get(
            IDEMPOTENCY_KEYS, tenant="acme", id=record_id(tenant="acme", principal=key_id, key="x")
        )
        kept_erasure = await session.get(
            IDEMPOTENCY_KEYS, tenant="acme", id=record_id(tenant="acme", principal=key_id, key="e")
        )
    assert kept_export is None
    assert kept_erasure is not None  # its own answer holds ids only, and replays
