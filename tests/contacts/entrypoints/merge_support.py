"""Shortcuts for the merge tests: merge, preview, undo and read contacts over HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import EDITOR_KEY, auth
from tests.contacts.helpers import Harness


async def duplicate(harness: Harness, **fields: Any) -> dict[str, Any]:
    """Create a contact even if its email is taken."""
    body = {"name": "Ada Lovelace", **fields}
    response = await harness.client.post(
        "/v1/contacts", params={"allow_duplicate": "true"}, json=body, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def merge(
    harness: Harness, primary: str, *duplicates: str, key: str = EDITOR_KEY, **extra: Any
) -> httpx.Response:
    """POST /v1/merges."""
    body = {"primary_id": primary, "duplicate_ids": list(duplicates), **extra}
    return await harness.client.post("/v1/merges", json=body, headers=auth(key))


async def merged(harness: Harness, primary: str, *duplicates: str, **extra: Any) -> dict[str, Any]:
    """Merge and return the 201 body."""
    response = await merge(harness, primary, *duplicates, **extra)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def preview(harness: Harness, primary: str, *duplicates: str, **extra: Any) -> httpx.Response:
    """POST /v1/merges/preview."""
    body = {"primary_id": primary, "duplicate_ids": list(duplicates), **extra}
    return await harness.client.post("/v1/merges/preview", json=body, headers=auth(EDITOR_KEY))


async def undo(harness: Harness, merge_id: str) -> httpx.Response:
    """POST /v1/merges/{id}/undo."""
    return await harness.client.post(f"/v1/merges/{merge_id}/undo", headers=auth(EDITOR_KEY))


async def get(harness: Harness, contact_id: str) -> httpx.Response:
    """GET /v1/contacts/{id}."""
    return await harness.client.get(f"/v1/contacts/{contact_id}", headers=auth(EDITOR_KEY))


async def patch(
    harness: Harness, contact_id: str, body: dict[str, Any], **headers: str
) -> httpx.Response:
    """PATCH /v1/contacts/{id}."""
    return await harness.client.patch(
        f"/v1/contacts/{contact_id}", json=body, headers={**auth(EDITOR_KEY), **headers}
    )


def without_times(contact: dict[str, Any]) -> dict[str, Any]:
    """A contact without its version and update time (what undo bumps)."""
    return {k: v for k, v in contact.items() if k not in ("version", "updated_at")}
