"""Authentication, roles, tenants and bad input: every error is problem+json naming the cause."""

from __future__ import annotations

import pytest

from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness

PROBLEM = "application/problem+json"
MISSING_ID = "0190a000-0000-7000-8000-000000000000"


async def test_missing_key_is_401(harness: Harness) -> None:
    response = await harness.client.get("/v1/contacts")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM


async def test_wrong_key_is_401(harness: Harness) -> None:
    response = await harness.client.get("/v1/contacts", headers=auth("not-a-key"))
    assert response.status_code == 401


async def test_viewer_cannot_patch(harness: Harness) -> None:
    contact = await harness.create()
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}", json={"company": "X"}, headers=auth(VIEWER_KEY)
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM


async def test_viewer_cannot_create(harness: Harness) -> None:
    response = await harness.client.post(
        "/v1/contacts", json={"name": "Ada"}, headers=auth(VIEWER_KEY)
    )
    assert response.status_code == 403


async def test_viewer_cannot_list_deleted_contacts(harness: Harness) -> None:
    response = await harness.client.get(
        "/v1/contacts?include_deleted=true", headers=auth(VIEWER_KEY)
    )
    assert response.status_code == 403


async def test_other_tenants_contact_is_404_for_every_verb(harness: Harness) -> None:
    contact = await harness.create()
    url = f"/v1/contacts/{contact['id']}"
    other = auth(OTHER_TENANT_KEY)
    assert (await harness.client.get(url, headers=other)).status_code == 404
    assert (
        await harness.client.patch(url, json={"company": "X"}, headers=other)
    ).status_code == 404
    assert (await harness.client.delete(url, headers=other)).status_code == 404
    assert (await harness.client.post(f"{url}/restore", headers=other)).status_code == 404
    listed = await harness.client.get("/v1/contacts", headers=other)
    assert listed.json()["items"] == []


async def test_unknown_contact_is_404(harness: Harness) -> None:
    response = await harness.client.get(f"/v1/contacts/{MISSING_ID}", headers=auth())
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


async def test_malformed_json_is_400(harness: Harness) -> None:
    response = await harness.client.post(
        "/v1/contacts",
        content=b'{"name": "Ada",',
        headers={**auth(EDITOR_KEY), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM


async def test_unknown_field_is_422_naming_it(harness: Harness) -> None:
    response = await harness.client.post(
        "/v1/contacts", json={"name": "Ada", "favourite_colour": "blue"}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 422
    assert "favourite_colour" in response.json()["detail"]


async def test_patch_with_source_is_422(harness: Harness) -> None:
    contact = await harness.create()
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}", json={"source": "import"}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("timezone", "Mars/Olympus"),
        ("phone", "call me maybe"),
        ("name", ""),
        ("tags", ["x" * 51]),
        ("custom_fields", {"Bad Key": 1}),
    ],
)
async def test_invalid_field_is_422_naming_the_field(
    harness: Harness, field: str, value: object
) -> None:
    body = {"name": "Ada", field: value}
    response = await harness.client.post("/v1/contacts", json=body, headers=auth(EDITOR_KEY))
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["detail"].startswith(field)
    assert problem["errors"][0]["loc"] == ["body", field]


async def test_missing_name_is_422(harness: Harness) -> None:
    response = await harness.client.post(
        "/v1/contacts", json={"email": "a@example.com"}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 422
    assert "name" in response.json()["detail"]


async def test_unknown_source_is_422(harness: Harness) -> None:
    response = await harness.client.post(
        "/v1/contacts", json={"name": "Ada", "source": "carrier-pigeon"}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 422


async def test_malformed_if_match_is_400(harness: Harness) -> None:
    contact = await harness.create()
    response = await harness.client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"company": "X"},
        headers={**auth(EDITOR_KEY), "If-Match": "version-one"},
    )
    assert response.status_code == 400
    assert "If-Match" in response.json()["detail"]


@pytest.mark.parametrize("limit", [0, 201])
async def test_limit_out_of_range_is_422_naming_limit(harness: Harness, limit: int) -> None:
    response = await harness.client.get(f"/v1/contacts?limit={limit}", headers=auth())
    assert response.status_code == 422
    assert "limit" in response.json()["detail"]


@pytest.mark.parametrize("cursor", ["%%%", "bm90LWEtdXVpZA", "AAAA"])
async def test_malformed_cursor_is_400(harness: Harness, cursor: str) -> None:
    response = await harness.client.get("/v1/contacts", params={"cursor": cursor}, headers=auth())
    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]
