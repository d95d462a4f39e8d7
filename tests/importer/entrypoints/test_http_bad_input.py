"""Bad export filters are a 422 naming the field; a viewer's export of deleted contacts a 403."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth

BIG = 10**20

BAD_FILTERS: dict[str, tuple[Any, str]] = {
    "custom value above 64 bits": ({"custom": [{"key": "seats", "eq": BIG}]}, "eq"),
    "deleted as a number": ({"deleted": 0}, "deleted"),
    "date past year 9999 in UTC": ({"created_after": "9999-12-31T23:59:59-14:00"}, "created_after"),
    "date as a number": ({"updated_before": 0}, "updated_before"),
    "text with a lone surrogate": ({"q": "\ud800"}, "q"),
    "tag with NUL": ({"tag": ["vip\x00"]}, "tag"),
}


@pytest.mark.parametrize(("criteria", "field"), BAD_FILTERS.values(), ids=list(BAD_FILTERS))
async def test_bad_export_filter_is_a_422_naming_the_field(
    client: httpx.AsyncClient, criteria: Any, field: str
) -> None:
    body = {"fields": ["id"], "filter": criteria}
    response = await client.post(
        "/v1/exports",
        content=json.dumps(body).encode(),
        headers={**auth(EDITOR_KEY), "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["detail"]


async def test_a_viewers_export_of_deleted_contacts_is_a_403_up_front(
    client: httpx.AsyncClient,
) -> None:
    body = {"fields": ["id"], "filter": {"deleted": True}}
    response = await client.post("/v1/exports", json=body, headers=auth(VIEWER_KEY))
    assert response.status_code == 403, response.text
    assert "editor" in response.json()["detail"]
    listed = await client.post("/v1/exports", json=body, headers=auth(EDITOR_KEY))
    assert listed.status_code == 202, listed.text
