"""GET /v1/contacts and POST /v1/contacts/search: each filter, combinations, bad filters."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness

Params = list[tuple[str, str]] | dict[str, Any]


async def _ids(harness: Harness, params: Params, *, key: str = VIEWER_KEY) -> list[str]:
    response = await harness.client.get("/v1/contacts", params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def _problem(harness: Harness, params: Params, status: int = 422) -> str:
    response = await harness.client.get("/v1/contacts", params=params, headers=auth(VIEWER_KEY))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["detail"])


async def _define(harness: Harness, key: str, type_: str, options: list[str] | None = None) -> None:
    body: dict[str, Any] = {"key": key, "label": key.title(), "type": type_}
    if options is not None:
        body["options"] = options
    response = await harness.client.post("/v1/custom-fields", json=body, headers=auth(ADMIN_KEY))
    assert response.status_code == 201, response.text


# --- text --------------------------------------------------------------------------------------


async def test_q_matches_prefixes_and_substrings_ignoring_accents_and_case(
    harness: Harness,
) -> None:
    zoe = await harness.create(name="Zoë Müller", company="Société Générale")
    await harness.create(name="Zack Miller")
    assert await _ids(harness, {"q": "ZOE"}) == [zoe["id"]]
    assert await _ids(harness, {"q": "mül"}) == [zoe["id"]]
    assert await _ids(harness, {"q": "uller"}) == [zoe["id"]]
    assert await _ids(harness, {"q": "societe gen"}) == [zoe["id"]]


async def test_q_matches_additional_emails_and_phones_in_digits(harness: Harness) -> None:
    ada = await harness.create(
        name="Ada", emails=["countess@engines.example"], phones=["(415) 555-0132"]
    )
    await harness.create(name="Grace", phone="+1 212 555 0100")
    assert await _ids(harness, {"q": "engines.exa"}) == [ada["id"]]
    assert await _ids(harness, {"q": "4155550132"}) == [ada["id"]]
    assert await _ids(harness, {"q": "415-555"}) == [ada["id"]]
    assert await _ids(harness, {"q": "(415) 555-01"}) == [ada["id"]]


async def test_email_filter_finds_primary_and_additional_addresses_exactly(
    harness: Harness,
) -> None:
    ada = await harness.create(name="Ada", email="ada@example.org", emails=["a@work.example"])
    await harness.create(name="Mada", email="mada@example.org")
    assert await _ids(harness, {"email": "ADA@example.org"}) == [ada["id"]]
    assert await _ids(harness, {"email": "a@work.example"}) == [ada["id"]]
    assert await _ids(harness, {"email": "da@example.org"}) == []


# --- tags, owner, source -----------------------------------------------------------------------


@pytest.fixture
async def tagged(harness: Harness) -> dict[str, str]:
    people = {
        "ada": await harness.create(name="Ada", tags=["VIP", "Customer"]),
        "grace": await harness.create(name="Grace", tags=["customer", "Événement"]),
        "alan": await harness.create(name="Alan", tags=["Prospect"]),
        "linus": await harness.create(name="Linus"),
    }
    return {name: doc["id"] for name, doc in people.items()}


async def test_repeated_tag_requires_every_tag(harness: Harness, tagged: dict[str, str]) -> None:
    assert await _ids(harness, [("tag", "customer")]) == [tagged["ada"], tagged["grace"]]
    assert await _ids(harness, [("tag", "Customer"), ("tag", "vip")]) == [tagged["ada"]]


async def test_tag_any_requires_one_of_the_tags(harness: Harness, tagged: dict[str, str]) -> None:
    found = await _ids(harness, [("tag_any", "evenement"), ("tag_any", "PROSPECT")])
    assert found == [tagged["grace"], tagged["alan"]]


async def test_tag_none_excludes_contacts_with_any_of_the_tags(
    harness: Harness, tagged: dict[str, str]
) -> None:
    found = await _ids(harness, [("tag_none", "vip"), ("tag_none", "prospect")])
    assert found == [tagged["grace"], tagged["linus"]]


async def test_tag_filters_combine(harness: Harness, tagged: dict[str, str]) -> None:
    params = [("tag", "customer"), ("tag_any", "vip"), ("tag_any", "evenement")]
    assert await _ids(harness, [*params, ("tag_none", "vip")]) == [tagged["grace"]]


async def test_owner_and_source_filters(harness: Harness) -> None:
    mine = await harness.create(name="Mine", owner="user-7", source="form")
    await harness.create(name="Theirs", owner="user-8", source="form")
    await harness.create(name="Chat", owner="user-7", source="chat")
    assert len(await _ids(harness, {"owner": "user-7"})) == 2
    assert await _ids(harness, {"owner": "user-7", "source": "form"}) == [mine["id"]]


# --- time ranges -------------------------------------------------------------------------------


async def test_created_and_updated_ranges_are_inclusive(harness: Harness) -> None:
    first = await harness.create(name="First")
    second = await harness.create(name="Second")
    assert await _ids(harness, {"created_after": first["created_at"]}) == [
        first["id"],
        second["id"],
    ]
    assert await _ids(harness, {"created_before": first["created_at"]}) == [first["id"]]
    patched = await harness.client.patch(
        f"/v1/contacts/{first['id']}", json={"company": "Acme"}, headers=auth(EDITOR_KEY)
    )
    updated_at = patched.json()["updated_at"]
    assert await _ids(harness, {"updated_after": updated_at}) == [first["id"]]
    window = {"created_after": second["created_at"], "updated_before": second["updated_at"]}
    assert await _ids(harness, window) == [second["id"]]


# --- custom fields -----------------------------------------------------------------------------


@pytest.fixture
async def fielded(harness: Harness) -> dict[str, str]:
    await _define(harness, "plan", "dropdown", ["Free", "Pro"])
    await _define(harness, "seats", "number")
    await _define(harness, "renewal", "date")
    await _define(harness, "langs", "multi_select", ["English", "Français"])
    await _define(harness, "active", "boolean")
    await _define(harness, "nickname", "text")
    values = {
        "ada": {"plan": "Pro", "seats": 12, "renewal": "2026-03-01", "langs": ["English"]},
        "grace": {"plan": "Pro", "seats": 80, "renewal": "2026-09-30", "active": True},
        "alan": {"plan": "Free", "seats": 1, "langs": ["English", "Français"], "nickname": "A"},
    }
    ids = {}
    for name, custom in values.items():
        ids[name] = (await harness.create(name=name.title(), custom_fields=custom))["id"]
    return ids


async def test_custom_equality_is_typed_by_the_definition(
    harness: Harness, fielded: dict[str, str]
) -> None:
    assert await _ids(harness, {"cf.plan": "pro"}) == [fielded["ada"], fielded["grace"]]
    assert await _ids(harness, {"cf.seats": "12.0"}) == [fielded["ada"]]
    assert await _ids(harness, {"cf.active": "true"}) == [fielded["grace"]]
    assert await _ids(harness, {"cf.nickname": "A"}) == [fielded["alan"]]


async def test_custom_ranges_on_numbers_and_dates(
    harness: Harness, fielded: dict[str, str]
) -> None:
    assert await _ids(harness, {"cf.seats.gte": "10", "cf.seats.lte": "80"}) == [
        fielded["ada"],
        fielded["grace"],
    ]
    assert await _ids(harness, {"cf.renewal.lte": "2026-06-30"}) == [fielded["ada"]]


async def test_multi_select_contains_an_option(harness: Harness, fielded: dict[str, str]) -> None:
    assert await _ids(harness, {"cf.langs.contains": "francais"}) == [fielded["alan"]]
    assert await _ids(harness, {"cf.langs": "English"}) == [fielded["ada"], fielded["alan"]]


async def test_custom_and_standard_filters_combine(
    harness: Harness, fielded: dict[str, str]
) -> None:
    params = {"cf.plan": "Pro", "cf.seats.gte": "50", "q": "grace"}
    assert await _ids(harness, params) == [fielded["grace"]]


async def test_post_search_takes_the_same_filter_as_json(
    harness: Harness, fielded: dict[str, str]
) -> None:
    body = {
        "filter": {"custom": [{"key": "seats", "gte": 10}, {"key": "plan", "eq": "Pro"}]},
        "sort": "-name",
        "limit": 1,
    }
    response = await harness.client.post("/v1/contacts/search", json=body, headers=auth(VIEWER_KEY))
    assert response.status_code == 200, response.text
    page = response.json()
    assert [item["id"] for item in page["items"]] == [fielded["grace"]]
    body["cursor"] = page["next_cursor"]
    response = await harness.client.post("/v1/contacts/search", json=body, headers=auth(VIEWER_KEY))
    assert [item["id"] for item in response.json()["items"]] == [fielded["ada"]]
    assert response.json()["next_cursor"] is None


# --- bad filters -------------------------------------------------------------------------------


async def test_unknown_filter_parameter_is_422_naming_it(harness: Harness) -> None:
    assert "colour" in await _problem(harness, {"colour": "red"})


async def test_filter_on_an_undefined_custom_field_is_422_naming_it(harness: Harness) -> None:
    assert "cf.shoe_size" in await _problem(harness, {"cf.shoe_size": "42"})


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"cf.seats": "many"}, "cf.seats"),
        ({"cf.renewal.gte": "31/12/2026"}, "cf.renewal.gte"),
        ({"cf.active": "perhaps"}, "cf.active"),
        ({"cf.plan": "Platinum"}, "cf.plan"),
        ({"cf.plan.gte": "Free"}, "cf.plan.gte"),
        ({"cf.seats.contains": "1"}, "cf.seats.contains"),
        ({"created_after": "last week"}, "created_after"),
        ({"source": "fax"}, "source"),
        ({"email": "not-an-address"}, "email"),
    ],
)
async def test_badly_typed_filter_value_is_422_naming_the_parameter(
    harness: Harness, fielded: dict[str, str], params: dict[str, str], named: str
) -> None:
    assert named in await _problem(harness, params)


async def test_post_search_with_an_unknown_filter_key_is_422(harness: Harness) -> None:
    body = {"filter": {"colour": "red"}}
    response = await harness.client.post("/v1/contacts/search", json=body, headers=auth(VIEWER_KEY))
    assert response.status_code == 422
    assert "colour" in response.json()["detail"]


@pytest.mark.parametrize("route", ["get", "post"])
async def test_a_page_larger_than_200_is_422_naming_limit(harness: Harness, route: str) -> None:
    if route == "get":
        detail = await _problem(harness, {"limit": "201"})
    else:
        response = await harness.client.post(
            "/v1/contacts/search", json={"limit": 201}, headers=auth(VIEWER_KEY)
        )
        assert response.status_code == 422
        detail = response.json()["detail"]
    assert "limit" in detail


# --- deleted, roles, tenants -------------------------------------------------------------------


async def test_deleted_true_lists_only_soft_deleted_contacts(harness: Harness) -> None:
    await harness.create(name="Kept")
    gone = await harness.create(name="Gone")
    response = await harness.client.delete(f"/v1/contacts/{gone['id']}", headers=auth(EDITOR_KEY))
    assert response.status_code == 204
    assert await _ids(harness, {"deleted": "true"}, key=EDITOR_KEY) == [gone["id"]]
    assert gone["id"] not in await _ids(harness, {})


async def test_deleted_listing_needs_the_editor_role(harness: Harness) -> None:
    for request in (
        harness.client.get("/v1/contacts", params={"deleted": "true"}, headers=auth(VIEWER_KEY)),
        harness.client.post(
            "/v1/contacts/search", json={"filter": {"deleted": True}}, headers=auth(VIEWER_KEY)
        ),
    ):
        assert (await request).status_code == 403


async def test_listing_needs_a_valid_key(harness: Harness) -> None:
    response = await harness.client.get("/v1/contacts")
    assert response.status_code == 401
    response = await harness.client.post("/v1/contacts/search", json={}, headers=auth("nope"))
    assert response.status_code == 401


async def test_another_tenant_never_sees_the_contacts(harness: Harness) -> None:
    await harness.create(name="Ada", tags=["vip"], email="ada@example.org")
    assert await _ids(harness, {"tag": "vip"}, key=OTHER_TENANT_KEY) == []
    assert await _ids(harness, {"email": "ada@example.org"}, key=OTHER_TENANT_KEY) == []
    assert await _ids(harness, {"q": "ada"}, key=OTHER_TENANT_KEY) == []
