"""GET /v1/imports/{id}/errors: failed rows with reasons, in row order, page by page."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.conftest import VIEWER_KEY, auth
from tests.importer.helpers import upload_and_read
from tests.openapi_documents import OpenApiDocuments

RAGGED = b"name,email\n" + b"x\n" * 5  # five rows with one cell instead of two


async def test_errors_list_failed_rows_in_row_order(client: httpx.AsyncClient) -> None:
    job = await upload_and_read(client, RAGGED)

    response = await client.get(f"/v1/imports/{job['id']}/errors", headers=auth(VIEWER_KEY))

    assert response.status_code == 200
    body = response.json()
    assert [e["row_number"] for e in body["items"]] == [1, 2, 3, 4, 5]
    assert body["items"][0]["reason"] == "row 1 has 1 cells but the header has 2"
    assert body["next_cursor"] is None


async def test_errors_are_paginated_with_a_cursor(client: httpx.AsyncClient) -> None:
    job = await upload_and_read(client, RAGGED)
    url = f"/v1/imports/{job['id']}/errors"

    first = (await client.get(url, params={"limit": 2}, headers=auth())).json()
    second = (
        await client.get(url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=auth())
    ).json()
    third = (
        await client.get(url, params={"limit": 2, "cursor": second["next_cursor"]}, headers=auth())
    ).json()

    assert [e["row_number"] for e in first["items"]] == [1, 2]
    assert [e["row_number"] for e in second["items"]] == [3, 4]
    assert [e["row_number"] for e in third["items"]] == [5]
    assert third["next_cursor"] is None


async def test_a_job_without_failures_has_no_errors(client: httpx.AsyncClient) -> None:
    job = await upload_and_read(client, b"name\nAda\n")

    body = (await client.get(f"/v1/imports/{job['id']}/errors", headers=auth())).json()

    assert body == {"items": [], "next_cursor": None}


async def test_a_malformed_cursor_is_a_bad_request(client: httpx.AsyncClient) -> None:
    job = await upload_and_read(client, RAGGED)

    response = await client.get(
        f"/v1/imports/{job['id']}/errors", params={"cursor": "not-a-cursor"}, headers=auth()
    )

    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        _b64(b"99999999999999999999999:0190a0a0-0000-7000-8000-000000000000"),
        _b64(b'[99999999999999999999999, "0190a0a0-0000-7000-8000-000000000000"]'),
        _b64(b'[9223372036854775808, "0190a0a0-0000-7000-8000-000000000000"]'),
        _b64('["²", "0190a0a0-0000-7000-8000-000000000000"]'.encode()),
        _b64(b"\xff\xfe:x"),
    ],
    ids=["old-huge", "beyond-64-bits", "i64-max-plus-one", "superscript", "non-utf8"],
)
async def test_a_cursor_no_row_number_can_hold_is_a_400_not_a_500(
    client: httpx.AsyncClient, cursor: str
) -> None:
    job = await upload_and_read(client, RAGGED)

    response = await client.get(
        f"/v1/imports/{job['id']}/errors", params={"cursor": cursor}, headers=auth()
    )

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_limit_out_of_range_is_refused(client: httpx.AsyncClient) -> None:
    job = await upload_and_read(client, RAGGED)

    response = await client.get(
        f"/v1/imports/{job['id']}/errors", params={"limit": 0}, headers=auth()
    )

    assert response.status_code == 422


async def test_errors_of_an_unknown_job_are_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/imports/nope/errors", headers=auth())

    assert response.status_code == 404


def test_the_openapi_document_explains_row_numbers(openapi_documents: OpenApiDocuments) -> None:
    spec = openapi_documents["importer"]

    operation = spec["paths"]["/v1/imports/{job_id}/errors"]["get"]
    assert "header row is excluded" in operation["description"]
    assert "multipart/form-data" in spec["paths"]["/v1/imports"]["post"]["requestBody"]["content"]
