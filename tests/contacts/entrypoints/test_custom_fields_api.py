"""`/v1/custom-fields` over HTTP: roles, tenants, definitions and their validation."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.custom_field_support import define_field
from tests.contacts.helpers import Harness

PROBLEM = "application/problem+json"
PLAN = {"key": "plan", "label": "Plan", "type": "dropdown", "options": ["Free", "Pro"]}


async def test_admin_defines_a_field_and_gets_201_with_location(harness: Harness) -> None:
    response = await harness.client.post("/v1/custom-fields", json=PLAN, headers=auth(ADMIN_KEY))
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == "/v1/custom-fields/plan"
    assert (body["key"], body["type"], body["options"]) == ("plan", "dropdown", ["Free", "Pro"])
    assert (body["required"], body["retired_options"], body["version"]) == (False, [], 1)


async def test_viewer_lists_and_reads_definitions(harness: Harness) -> None:
    await define_field(harness, "seats", "number")
    await define_field(harness, "plan", "text")
    listed = await harness.client.get("/v1/custom-fields", headers=auth(VIEWER_KEY))
    assert [f["key"] for f in listed.json()["items"]] == ["plan", "seats"]
    one = await harness.client.get("/v1/custom-fields/seats", headers=auth(VIEWER_KEY))
    assert one.status_code == 200 and one.json()["type"] == "number"


async def test_missing_key_is_401(harness: Harness) -> None:
    response = await harness.client.get("/v1/custom-fields")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/v1/custom-fields"),
        ("PATCH", "/v1/custom-fields/plan"),
        ("DELETE", "/v1/custom-fields/plan"),
    ],
)
async def test_an_editor_cannot_change_definitions(harness: Harness, method: str, url: str) -> None:
    await define_field(harness, "plan", "text")
    body = {"label": "X"} if method == "PATCH" else PLAN
    response = await harness.client.request(
        method, url, json=None if method == "DELETE" else body, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 403


async def test_definitions_are_per_tenant(harness: Harness) -> None:
    await define_field(harness, "plan", "text")
    other = auth(OTHER_TENANT_KEY)
    assert (await harness.client.get("/v1/custom-fields/plan", headers=other)).status_code == 404
    assert (await harness.client.get("/v1/custom-fields", headers=other)).json()["items"] == []
    # The other tenant may define the same key for itself.
    response = await harness.client.post("/v1/custom-fields", json=PLAN, headers=other)
    assert response.status_code == 201


async def test_another_tenants_contact_cannot_use_this_tenants_field(harness: Harness) -> None:
    await define_field(harness, "plan", "text")
    response = await harness.client.post(
        "/v1/contacts",
        json={"name": "Ada", "custom_fields": {"plan": "x"}},
        headers=auth(OTHER_TENANT_KEY),
    )
    assert response.status_code == 422


async def test_a_duplicate_key_is_409(harness: Harness) -> None:
    await define_field(harness, "plan", "text")
    response = await harness.client.post("/v1/custom-fields", json=PLAN, headers=auth(ADMIN_KEY))
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({**PLAN, "key": "Plan"}, "key"),
        ({**PLAN, "key": "1plan"}, "key"),
        ({**PLAN, "type": "currency"}, "type"),
        ({**PLAN, "options": []}, "options"),
        ({**PLAN, "options": None}, "options"),
        ({**PLAN, "options": ["Pro", "pro"]}, "options"),
        ({**PLAN, "options": ["Pró", "Pro"]}, "options"),
        ({**PLAN, "options": ["a;b"]}, "options"),
        ({"key": "seats", "label": "Seats", "type": "number", "options": ["1"]}, "options"),
        ({**PLAN, "label": ""}, "label"),
        ({**PLAN, "extra": 1}, "extra"),
    ],
)
async def test_a_bad_definition_is_422_naming_the_attribute(
    harness: Harness, body: dict[str, object], named: str
) -> None:
    response = await harness.client.post("/v1/custom-fields", json=body, headers=auth(ADMIN_KEY))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert named in response.json()["detail"]


async def test_an_unknown_field_is_404(harness: Harness) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = await harness.client.request(
            method,
            "/v1/custom-fields/nope",
            json={"label": "X"} if method == "PATCH" else None,
            headers=auth(ADMIN_KEY),
        )
        assert response.status_code == 404, method


async def test_a_stale_if_match_on_a_definition_is_412(harness: Harness) -> None:
    await define_field(harness, "plan", "text")
    response = await harness.client.patch(
        "/v1/custom-fields/plan",
        json={"label": "Subscription"},
        headers={**auth(ADMIN_KEY), "If-Match": '"7"'},
    )
    assert response.status_code == 412


async def test_a_null_label_or_type_changes_nothing_and_a_null_description_clears_it(
    harness: Harness,
) -> None:
    await define_field(harness, "plan", "text", description="Tier")
    response = await harness.client.patch(
        "/v1/custom-fields/plan",
        json={"label": None, "type": None, "description": None},
        headers=auth(ADMIN_KEY),
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["label"], body["type"], body["description"]) == ("Plan", "text", None)
