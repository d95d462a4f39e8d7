"""Conditional GETs: If-None-Match naming the current version answers 304 with the ETag, no body."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.custom_field_support import define_field
from tests.contacts.helpers import Harness
from tests.openapi_documents import OpenApiDocuments


async def _get(harness: Harness, path: str, if_none_match: str | None = None) -> httpx.Response:
    headers = auth(VIEWER_KEY)
    if if_none_match is not None:
        headers["If-None-Match"] = if_none_match
    return await harness.client.get(path, headers=headers)


def _assert_not_modified(response: httpx.Response, etag: str) -> None:
    assert response.status_code == 304, response.text
    assert response.headers["etag"] == etag
    assert response.content == b""
    assert "content-type" not in response.headers
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("sent", ['"1"', 'W/"1"', '"9", W/"1"', "*"])
async def test_a_contact_read_again_with_its_etag_is_304_without_a_body(
    harness: Harness, sent: str
) -> None:
    contact = await harness.create(name="Ada", email="ada@x.example")
    first = await _get(harness, f"/v1/contacts/{contact['id']}")
    assert (first.status_code, first.headers["etag"]) == (200, '"1"')
    _assert_not_modified(await _get(harness, f"/v1/contacts/{contact['id']}", sent), '"1"')


async def test_if_none_match_sent_as_two_field_lines_is_one_list(harness: Harness) -> None:
    contact = await harness.create(name="Ada", email="ada@x.example")
    headers = [*auth(VIEWER_KEY).items(), ("If-None-Match", '"7"'), ("If-None-Match", 'W/"1"')]
    response = await harness.client.get(f"/v1/contacts/{contact['id']}", headers=headers)
    _assert_not_modified(response, '"1"')


async def test_a_contact_changed_since_is_200_with_the_new_body_and_etag(harness: Harness) -> None:
    contact = await harness.create(name="Ada", email="ada@x.example")
    patched = await harness.client.patch(
        f"/v1/contacts/{contact['id']}", json={"name": "Ada L."}, headers=auth(EDITOR_KEY)
    )
    assert patched.status_code == 200
    again = await _get(harness, f"/v1/contacts/{contact['id']}", '"1"')
    assert (again.status_code, again.headers["etag"]) == (200, '"2"')
    assert again.json()["name"] == "Ada L."
    assert again.json() == patched.json()


async def test_a_malformed_if_none_match_is_a_400_naming_the_header(harness: Harness) -> None:
    contact = await harness.create(name="Ada", email="ada@x.example")
    response = await _get(harness, f"/v1/contacts/{contact['id']}", "1")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == "If-None-Match"


async def test_star_on_a_missing_or_other_tenants_contact_is_still_404(harness: Harness) -> None:
    contact = await harness.create(name="Ada", email="ada@x.example")
    missing = await _get(harness, "/v1/contacts/01a230ba-798f-7165-8cd8-089a76caf01d", "*")
    assert missing.status_code == 404
    other = await harness.client.get(
        f"/v1/contacts/{contact['id']}", headers={**auth(OTHER_TENANT_KEY), "If-None-Match": "*"}
    )
    assert other.status_code == 404


async def test_a_conditional_get_still_needs_a_key(harness: Harness) -> None:
    contact = await harness.create(name="Ada", email="ada@x.example")
    response = await harness.client.get(
        f"/v1/contacts/{contact['id']}", headers={"If-None-Match": '"1"'}
    )
    assert response.status_code == 401


async def test_a_contact_by_external_id_answers_304_to_its_etag(harness: Harness) -> None:
    put = await harness.client.put(
        "/v1/contacts/by-external-id/shop/c-1", json={"name": "Ada"}, headers=auth(EDITOR_KEY)
    )
    assert put.status_code == 201, put.text
    path = "/v1/contacts/by-external-id/shop/c-1"
    _assert_not_modified(await _get(harness, path, put.headers["etag"]), put.headers["etag"])
    assert (await _get(harness, path, '"2"')).json()["id"] == put.json()["id"]


async def test_a_custom_field_answers_304_to_its_etag(harness: Harness) -> None:
    await define_field(harness, "plan", "text")
    first = await _get(harness, "/v1/custom-fields/plan")
    assert first.status_code == 200
    _assert_not_modified(
        await _get(harness, "/v1/custom-fields/plan", first.headers["etag"]), first.headers["etag"]
    )
    assert (await _get(harness, "/v1/custom-fields/plan", 'W/"99"')).json() == first.json()


async def test_an_account_answers_304_to_its_etag(harness: Harness) -> None:
    contact = await harness.create(name="Ada", email="ada@x.example", company="Acme")
    path = f"/v1/accounts/{contact['account_id']}"
    first = await _get(harness, path)
    assert first.status_code == 200
    assert first.json()["contact_count"] == 1
    _assert_not_modified(await _get(harness, path, first.headers["etag"]), first.headers["etag"])
    assert (await _get(harness, path, '"99"')).json() == first.json()


def test_the_routes_document_if_none_match_and_the_304(
    openapi_documents: OpenApiDocuments,
) -> None:
    document = openapi_documents["contacts"]
    for path in (
        "/v1/contacts/{contact_id}",
        "/v1/contacts/by-external-id/{system}/{external_id}",
        "/v1/custom-fields/{key}",
        "/v1/accounts/{account_id}",
    ):
        operation = document["paths"][path]["get"]
        assert "if-none-match" in {p["name"] for p in operation["parameters"]}, path
        assert {"200", "304", "400"} <= set(operation["responses"]), path
