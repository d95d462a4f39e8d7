"""Test support: define custom fields and tags over HTTP before using them on contacts."""

from __future__ import annotations

from typing import Any

from tests.conftest import ADMIN_KEY, auth
from tests.contacts.helpers import Harness


async def define_field(harness: Harness, key: str, field_type: str, **extra: Any) -> dict[str, Any]:
    """Define one custom field as an admin and return it (asserting 201)."""
    body = {"key": key, "label": key.replace("_", " ").title(), "type": field_type, **extra}
    response = await harness.client.post("/v1/custom-fields", json=body, headers=auth(ADMIN_KEY))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def define_fields(harness: Harness, **types: str) -> None:
    """Define several option-less custom fields, e.g. `plan="text", seats="number"`."""
    for key, field_type in types.items():
        await define_field(harness, key, field_type)
