"""Every class of bad input to the gdpr API is a 422 naming the field, never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_KEY, auth
from tests.gdpr.fakes import ALICE_ID

CONSENTS = f"/v1/contacts/{ALICE_ID}/consents"
CONSENT = {"purpose": "newsletter", "status": "granted"}

BAD_BODIES: dict[str, tuple[str, Any, str]] = {
    "consent source with a lone surrogate": (CONSENTS, {**CONSENT, "source": "\ud800"}, "source"),
    "consent notice with NUL": (
        CONSENTS,
        {**CONSENT, "notice_version": "v1\x00"},
        "notice_version",
    ),
    "consent status as a number": (CONSENTS, {**CONSENT, "status": 1}, "status"),
    "consent with an integer above 64 bits": (CONSENTS, {**CONSENT, "source": 10**20}, "source"),
    "erasure id with a lone surrogate": (
        "/v1/erasure-requests",
        {"contact_id": "\ud800"},
        "contact_id",
    ),
    "data export id nested 300 levels": (
        "/v1/data-exports",
        json.loads('{"a":' * 300 + "1" + "}" * 300),
        "body",
    ),
}


@pytest.mark.parametrize(("path", "body", "field"), BAD_BODIES.values(), ids=list(BAD_BODIES))
async def test_bad_body_is_a_422_naming_the_field(
    client: httpx.AsyncClient, path: str, body: Any, field: str
) -> None:
    response = await client.post(
        path,
        content=json.dumps(body).encode(),
        headers={**auth(ADMIN_KEY), "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["detail"]


@pytest.mark.parametrize(
    "url",
    ["/v1/audit-log?contact_id=a%00", "/v1/audit-log?cursor=WyLCsiJd", "/v1/audit-log?limit=1e30"],
)
async def test_bad_query_is_a_4xx_problem(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url, headers=auth(ADMIN_KEY))
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_wrong_method_is_a_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/v1/erasure-requests", headers=auth(ADMIN_KEY))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
