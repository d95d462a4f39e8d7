"""Every class of bad input the contacts API once answered 500 is a 422 naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import ADMIN_KEY, EDITOR_KEY, auth
from tests.contacts.custom_field_support import define_field
from tests.contacts.helpers import Harness

BIG = 10**20  # above the signed 64-bit range every store holds
DEEP: Any = json.loads('{"a":' * 300 + "1" + "}" * 300)
RULE = {"name": "Big", "tag": "big"}

# (method, path, body, the field the answer must name)
BAD_BODIES: dict[str, tuple[str, str, Any, str]] = {
    "custom value above 64 bits": (
        "POST",
        "/v1/contacts",
        {"name": "Ada", "custom_fields": {"seats": BIG}},
        "seats",
    ),
    "name with a lone surrogate": ("POST", "/v1/contacts", {"name": "Ada \ud800"}, "name"),
    "name with NUL": ("POST", "/v1/contacts", {"name": "Ada\x00"}, "name"),
    "tag with a lone surrogate": (
        "POST",
        "/v1/contacts",
        {"name": "Ada", "tags": ["\udfff"]},
        "tags",
    ),
    "custom text with a lone surrogate": (
        "POST",
        "/v1/contacts",
        {"name": "Ada", "custom_fields": {"seats": "\ud800"}},
        "seats",
    ),
    "search filter above 64 bits": (
        "POST",
        "/v1/contacts/search",
        {"custom": [{"key": "seats", "gte": BIG}]},
        "gte",
    ),
    "search deleted as a number": ("POST", "/v1/contacts/search", {"deleted": 0}, "deleted"),
    "search date past year 9999 in UTC": (
        "POST",
        "/v1/contacts/search",
        {"created_after": "9999-12-31T23:59:59-14:00"},
        "created_after",
    ),
    "search date as a number": (
        "POST",
        "/v1/contacts/search",
        {"created_after": 0},
        "created_after",
    ),
    "search text with a lone surrogate": ("POST", "/v1/contacts/search", {"q": "\ud800"}, "q"),
    "search nested 300 levels": ("POST", "/v1/contacts/search", DEEP, "body"),
    "tag rule filter above 64 bits": (
        "POST",
        "/v1/tag-rules",
        {**RULE, "filter": {"custom": [{"key": "seats", "eq": BIG}]}},
        "eq",
    ),
    "tag rule filter deleted as a number": (
        "POST",
        "/v1/tag-rules",
        {**RULE, "filter": {"deleted": 0}},
        "deleted",
    ),
    "tag rule name with a lone surrogate": (
        "POST",
        "/v1/tag-rules",
        {**RULE, "name": "\ud800", "filter": {}},
        "name",
    ),
    "tag name with NUL": ("POST", "/v1/tags", {"name": "vip\x00"}, "name"),
    "account name with a lone surrogate": ("POST", "/v1/accounts", {"name": "\ud800 Inc"}, "name"),
    "custom field required as a number": (
        "POST",
        "/v1/custom-fields",
        {"key": "tier", "label": "Tier", "type": "text", "required": 0},
        "required",
    ),
}

BAD_QUERIES: dict[str, tuple[str, str]] = {
    "custom filter above 64 bits": ("/v1/contacts?cf.seats=100000000000000000000", "cf.seats"),
    "custom range above 64 bits": ("/v1/contacts?cf.seats.gte=-100000000000000000000", "cf.seats"),
    "date past year 9999 in UTC": (
        "/v1/contacts?created_after=9999-12-31T23:59:59-14:00",
        "created_after",
    ),
    "date before year 1 in UTC": (
        "/v1/contacts?updated_before=0001-01-01T00:00:00%2B14:00",
        "updated_before",
    ),
    "text with NUL": ("/v1/contacts?q=ada%00", "q"),
    "cursor holding a superscript two": ("/v1/contacts?cursor=WyLCsiJd", "cursor"),
}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"), BAD_BODIES.values(), ids=list(BAD_BODIES)
)
async def test_bad_body_is_a_422_naming_the_field(
    harness: Harness, method: str, path: str, body: Any, field: str
) -> None:
    await define_field(harness, "seats", "number")
    response = await harness.client.request(
        method,
        path,
        content=json.dumps(body).encode(),
        headers={**auth(ADMIN_KEY), "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["detail"]


@pytest.mark.parametrize(("url", "field"), BAD_QUERIES.values(), ids=list(BAD_QUERIES))
async def test_bad_query_is_a_4xx_naming_the_parameter(
    harness: Harness, url: str, field: str
) -> None:
    await define_field(harness, "seats", "number")
    response = await harness.client.get(url, headers=auth(EDITOR_KEY))
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.json()["detail"]


async def test_a_wrong_method_is_a_405_naming_the_allowed_ones(harness: Harness) -> None:
    response = await harness.client.put("/v1/contacts", headers=auth(EDITOR_KEY))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"


async def test_a_literal_paths_405_names_only_its_own_methods(harness: Harness) -> None:
    # /v1/contacts/purge also fits /v1/contacts/{contact_id}; its own resource allows POST only.
    response = await harness.client.put("/v1/contacts/purge", headers=auth(EDITOR_KEY))
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_a_literal_path_is_a_405_before_the_parameterised_paths_validation(
    harness: Harness,
) -> None:
    # /v1/suppressions/check also fits /v1/suppressions/{identifier_hash} (DELETE), whose path
    # validation would refuse "check" with a 422: the literal resource answers first.
    response = await harness.client.delete("/v1/suppressions/check", headers=auth(EDITOR_KEY))
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"].startswith("application/problem+json")
