"""`Idempotency-Key` on POST notes and activities: a retried post adds one item, not two."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_shared.idempotency_records import IDEMPOTENCY_KEYS
from crm_shared.topics import TIMELINE_EVENTS
from crm_timeline.adapters.repository import ITEMS
from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, auth
from tests.timeline.factories import erasure_requested, pending, seed_contact

NOTE = ("notes", {"body": "Called about the renewal"}, {"body": "Called again"})
CALL = {"type": "conversation", "conversation_id": "conv-1"}
ACTIVITY = (
    "activities",
    {"occurred_at": "2025-03-01T10:30:00+01:00", "summary": "Demo", "details": CALL},
    {"occurred_at": "2025-03-02T10:30:00+01:00", "summary": "Demo", "details": CALL},
)
ROUTES = pytest.mark.parametrize(("kind", "body", "other_body"), [NOTE, ACTIVITY])


def _h(key: str, api_key: str = EDITOR_KEY) -> dict[str, str]:
    return {**auth(api_key), "Idempotency-Key": key}


async def _items(app: FastAPI, tenant: str = "acme") -> list[dict[str, Any]]:
    async with app.state.store.reader() as session:
        docs: list[dict[str, Any]] = await session.find(ITEMS, tenant=tenant, limit=1000)
    return [d for d in docs if d["type"] != "contact_changed"]


@ROUTES
async def test_a_replay_returns_the_same_item_and_adds_nothing(
    app: FastAPI, client: httpx.AsyncClient, kind: str, body: dict[str, Any], other_body: Any
) -> None:
    contact_id = await seed_contact(app)
    url = f"/v1/contacts/{contact_id}/{kind}"
    first = await client.post(url, json=body, headers=_h("k-1"))
    again = await client.post(url, json=body, headers=_h("k-1"))
    assert first.status_code == again.status_code == 201, first.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(await _items(app)) == 1
    # One event for the one item, whichever the route.
    assert len(await pending(app.state.store, TIMELINE_EVENTS.name)) == 1


@ROUTES
async def test_the_same_key_with_another_body_is_422(
    app: FastAPI,
    client: httpx.AsyncClient,
    kind: str,
    body: dict[str, Any],
    other_body: dict[str, Any],
) -> None:
    contact_id = await seed_contact(app)
    url = f"/v1/contacts/{contact_id}/{kind}"
    await client.post(url, json=body, headers=_h("k-1"))
    other = await client.post(url, json=other_body, headers=_h("k-1"))
    assert other.status_code == 422
    assert other.json()["field"] == "Idempotency-Key"
    assert len(await _items(app)) == 1


@ROUTES
async def test_another_tenant_with_the_same_key_is_independent(
    app: FastAPI, client: httpx.AsyncClient, kind: str, body: dict[str, Any], other_body: Any
) -> None:
    contact_id = await seed_contact(app)
    await seed_contact(app, contact_id, tenant="globex")
    url = f"/v1/contacts/{contact_id}/{kind}"
    ours = await client.post(url, json=body, headers=_h("k-1"))
    theirs = await client.post(url, json=body, headers=_h("k-1", OTHER_TENANT_KEY))
    assert theirs.status_code == 201
    assert theirs.json()["id"] != ours.json()["id"]
    assert len(await _items(app, "globex")) == 1


async def test_an_erasure_forgets_a_kept_note(app: FastAPI, client: httpx.AsyncClient) -> None:
    contact_id = await seed_contact(app)
    url = f"/v1/contacts/{contact_id}/notes"
    await client.post(url, json={"body": "Private remark"}, headers=_h("k-1"))
    await app.state.bus.handle(erasure_requested(contact_id))
    async with app.state.store.reader() as session:
        assert await session.find(IDEMPOTENCY_KEYS, tenant="acme") == []
