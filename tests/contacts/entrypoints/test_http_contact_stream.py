"""GET /v1/contacts/stream: the listing's contacts and filter, one JSON per line, resumable."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from fastapi import FastAPI

from crm_contacts.service_layer.contact_stream import open_stream
from crm_shared.events import ErasureRequested
from crm_shared.filters import ContactFilter
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope
from tests.openapi_documents import OpenApiDocuments

Params = dict[str, str] | list[tuple[str, str | int | float | bool | None]]


async def _stream(harness: Harness, params: Params, *, key: str = VIEWER_KEY) -> list[Any]:
    response = await harness.client.get("/v1/contacts/stream", params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.content.endswith(b"\n") or response.content == b""
    return [orjson.loads(line) for line in response.content.splitlines()]


async def _listed(harness: Harness, params: Params, *, key: str = VIEWER_KEY) -> list[Any]:
    """Every page of the listing for the same filter."""
    items: list[Any] = []
    query = list(params.items()) if isinstance(params, dict) else list(params)
    cursor: list[tuple[str, str | int | float | bool | None]] = []
    while True:
        response = await harness.client.get(
            "/v1/contacts", params=[*query, ("limit", "2"), *cursor], headers=auth(key)
        )
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        cursor = [("cursor", page["next_cursor"])]


async def _problem(harness: Harness, params: Params, *, key: str = VIEWER_KEY) -> Any:
    response = await harness.client.get("/v1/contacts/stream", params=params, headers=auth(key))
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response


@pytest.fixture
async def people(harness: Harness) -> dict[str, str]:
    """Contacts of tenant acme with tags and a custom field, one soft-deleted, one erased."""
    response = await harness.client.post(
        "/v1/custom-fields",
        json={"key": "plan", "label": "Plan", "type": "dropdown", "options": ["Free", "Pro"]},
        headers=auth(ADMIN_KEY),
    )
    assert response.status_code == 201, response.text
    made: dict[str, dict[str, Any]] = {
        "ada": {"name": "Ada Lovelace", "tags": ["VIP"], "custom_fields": {"plan": "Pro"}},
        "grace": {"name": "Grace Hopper", "tags": ["vip", "Navy"], "company": "Navy"},
        "alan": {"name": "Alan Turing", "custom_fields": {"plan": "Free"}},
        "edsger": {"name": "Edsger Dijkstra", "tags": ["VIP"], "custom_fields": {"plan": "Pro"}},
        "gone": {"name": "Gone Away", "tags": ["VIP"]},
        "erased": {"name": "Erased Person", "tags": ["VIP"], "email": "erased@example.com"},
    }
    ids = {name: (await harness.create(**fields))["id"] for name, fields in made.items()}
    deleted = await harness.client.delete(f"/v1/contacts/{ids['gone']}", headers=auth(EDITOR_KEY))
    assert deleted.status_code == 204
    await harness.handle(
        envelope(
            ErasureRequested(erasure_id="er-1", contact_id=ids["erased"], identifier_hashes=[])
        )
    )
    return ids


async def test_the_stream_holds_the_live_contacts_in_creation_order_as_the_listing_shows_them(
    harness: Harness, people: dict[str, str]
) -> None:
    streamed = await _stream(harness, {})
    assert [c["id"] for c in streamed] == [people[n] for n in ("ada", "grace", "alan", "edsger")]
    assert streamed == await _listed(harness, {})


@pytest.mark.parametrize(
    "params",
    [
        {"tag": "vip"},
        [("tag", "VIP"), ("tag", "navy")],
        {"tag_none": "vip"},
        {"tag_any": "navy", "q": "hopper"},
        {"q": "turing"},
        {"cf.plan": "pro"},
        {"cf.plan": "pro", "tag": "vip", "created_after": "2020-01-01T00:00:00Z"},
        {"q": "nobody at all"},
    ],
)
async def test_the_stream_and_the_listing_select_the_same_contacts(
    harness: Harness, people: dict[str, str], params: Params
) -> None:
    listed = [c["id"] for c in await _listed(harness, params)]
    assert [c["id"] for c in await _stream(harness, params)] == listed
    assert people["gone"] not in listed and people["erased"] not in listed


async def test_soft_deleted_contacts_follow_the_listings_rules_and_erased_ones_never_come(
    harness: Harness, people: dict[str, str]
) -> None:
    only_deleted = await _stream(harness, {"deleted": "true"}, key=EDITOR_KEY)
    assert [c["id"] for c in only_deleted] == [people["gone"]]
    with_deleted = await _stream(harness, {"include_deleted": "true"}, key=EDITOR_KEY)
    assert people["gone"] in [c["id"] for c in with_deleted]
    assert people["erased"] not in [c["id"] for c in with_deleted]
    assert with_deleted == await _listed(harness, {"include_deleted": "true"}, key=EDITOR_KEY)
    refused = await _problem(harness, {"deleted": "true"}, key=VIEWER_KEY)
    assert refused.status_code == 403


async def test_another_tenants_contacts_are_never_in_the_stream(
    harness: Harness, people: dict[str, str]
) -> None:
    theirs = await harness.create(key=OTHER_TENANT_KEY, name="Ada Globex", tags=["VIP"])
    ours = {c["id"] for c in await _stream(harness, {"tag": "vip"})}
    assert theirs["id"] not in ours and people["ada"] in ours
    assert [c["id"] for c in await _stream(harness, {}, key=OTHER_TENANT_KEY)] == [theirs["id"]]
    resumed = await _stream(harness, {"after": people["ada"]}, key=OTHER_TENANT_KEY)
    assert [c["id"] for c in resumed] == [theirs["id"]]


async def test_after_resumes_after_that_contact(harness: Harness, people: dict[str, str]) -> None:
    rest = await _stream(harness, {"after": people["grace"]})
    assert [c["id"] for c in rest] == [people["alan"], people["edsger"]]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"colour": "red"}, "colour"),
        ({"cf.unknown": "x"}, "cf.unknown"),
        ({"limit": "10"}, "limit"),
        ({"sort": "name"}, "sort"),
        ({"after": "not-an-id"}, "after"),
    ],
)
async def test_bad_parameters_are_422_naming_them_before_any_line(
    harness: Harness, people: dict[str, str], params: Params, named: str
) -> None:
    response = await _problem(harness, params)
    assert response.status_code == 422
    assert named in response.text


async def test_the_stream_needs_a_valid_key(harness: Harness) -> None:
    response = await harness.client.get("/v1/contacts/stream")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_chunks_continue_where_the_last_one_ended(
    app: FastAPI, harness: Harness, people: dict[str, str]
) -> None:
    stream = await open_stream(app.state.store, tenant="acme", criteria=ContactFilter())
    chunks = [[c["id"] for c in chunk] async for chunk in stream.chunks(first=1, size=2)]
    assert chunks == [[people["ada"]], [people["grace"], people["alan"]], [people["edsger"]]]


async def test_a_stream_closed_after_its_first_chunk_leaves_no_read_running(
    app: FastAPI, harness: Harness, people: dict[str, str]
) -> None:
    stream = await open_stream(app.state.store, tenant="acme", criteria=ContactFilter())
    chunks = stream.chunks(first=1, size=1)
    assert [c["id"] for c in await anext(chunks)] == [people["ada"]]
    await chunks.aclose()  # a client that went away: the next chunk was being read meanwhile
    running = [getattr(t.get_coro(), "__qualname__", "") for t in asyncio.all_tasks()]
    assert "ContactStream._read" not in running


async def test_fields_reduce_each_line_to_the_id_and_those_fields_shaped_as_the_full_line(
    harness: Harness, people: dict[str, str]
) -> None:
    full = await _stream(harness, {})
    fields = "name,tags,custom.plan,company,created_at"
    reduced = await _stream(harness, {"fields": fields})
    assert reduced == [
        {
            "id": c["id"],
            "name": c["name"],
            "tags": c["tags"],
            "custom_fields": {"plan": c["custom_fields"].get("plan")},
            "company": c["company"],
            "created_at": c["created_at"],
        }
        for c in full
    ]
    # Grace has no plan: null, as an export's empty cell; an unset list field is [] as in full.
    grace = next(c for c in reduced if c["id"] == people["grace"])
    assert grace["custom_fields"] == {"plan": None}
    assert list(reduced[0]) == ["id", "name", "tags", "custom_fields", "company", "created_at"]


async def test_fields_name_custom_fields_as_an_export_does_or_as_the_contact_holds_them(
    harness: Harness, people: dict[str, str]
) -> None:
    as_export = await _stream(harness, {"fields": "id,custom.plan"})
    as_contact = await _stream(harness, {"fields": "custom_fields.plan"})
    assert as_export == as_contact
    assert [c["custom_fields"]["plan"] for c in as_export] == ["Pro", None, "Free", "Pro"]


async def test_fields_keep_the_filter_the_deleted_rules_and_after(
    harness: Harness, people: dict[str, str]
) -> None:
    tagged = await _stream(harness, {"tag": "vip", "fields": "name"})
    assert [c["name"] for c in tagged] == ["Ada Lovelace", "Grace Hopper", "Edsger Dijkstra"]
    rest = await _stream(harness, {"after": people["grace"], "fields": "email"})
    assert [c["id"] for c in rest] == [people["alan"], people["edsger"]]
    deleted = await _stream(harness, {"deleted": "true", "fields": "name"}, key=EDITOR_KEY)
    assert deleted == [{"id": people["gone"], "name": "Gone Away"}]


async def test_fields_never_reach_another_tenants_contacts(
    harness: Harness, people: dict[str, str]
) -> None:
    theirs = await harness.create(key=OTHER_TENANT_KEY, name="Ada Globex", tags=["VIP"])
    ours = await _stream(harness, {"fields": "name"})
    assert theirs["id"] not in {c["id"] for c in ours}
    assert await _stream(harness, {"fields": "name"}, key=OTHER_TENANT_KEY) == [
        {"id": theirs["id"], "name": "Ada Globex"}
    ]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ("name,colour", "colour"),
        ("search_text", "search_text"),
        ("tenant", "tenant"),
        ("custom_fields", "custom_fields"),
        ("custom.Bad-Key", "custom.Bad-Key"),
        ("name,,email", "''"),
        ("name,name", "twice"),
        ("custom.plan,custom_fields.plan", "twice"),
    ],
)
async def test_a_field_no_export_may_list_is_422_before_any_line(
    harness: Harness, people: dict[str, str], fields: str, named: str
) -> None:
    response = await _problem(harness, {"fields": fields})
    assert response.status_code == 422
    assert named in response.text and "fields" in response.text


def test_the_openapi_description_documents_fields(openapi_documents: OpenApiDocuments) -> None:
    spec = openapi_documents["contacts"]
    operation = spec["paths"]["/v1/contacts/stream"]["get"]
    assert "fields" in [p["name"] for p in operation["parameters"]]
    assert "custom.plan" in operation["description"]


async def test_a_reduced_stream_closed_after_its_first_chunk_leaves_no_read_running(
    app: FastAPI, harness: Harness, people: dict[str, str]
) -> None:
    stream = await open_stream(app.state.store, tenant="acme", criteria=ContactFilter())
    chunks = stream.json_chunks(("name",), first=1, size=1)
    assert [row_id for row_id, _ in await anext(chunks)] == [people["ada"]]
    await chunks.aclose()
    running = [getattr(t.get_coro(), "__qualname__", "") for t in asyncio.all_tasks()]
    assert not {"ContactStream.json_chunks.<locals>.read", "ContactStream._read_json"} & set(
        running
    )
