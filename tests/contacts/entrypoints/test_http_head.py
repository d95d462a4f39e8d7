"""HEAD on the contacts service's GET routes: the GET's status and headers, without a body."""

from __future__ import annotations

from fastapi import FastAPI

from tests.conftest import ADMIN_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness
from tests.head_parity import SOME_ID, every_get_route_answers_head, head_as_get


async def test_every_get_route_answers_head_as_its_get(app: FastAPI, harness: Harness) -> None:
    await harness.create(name="Ada", email="ada@x.example", tags=["VIP"])
    statuses = await every_get_route_answers_head(app, harness.client, auth(ADMIN_KEY))
    assert statuses[200] >= 10, statuses  # not only refusals: answers with bodies were compared


async def test_every_get_route_answers_a_head_without_a_key_as_its_get(
    app: FastAPI, harness: Harness
) -> None:
    statuses = await every_get_route_answers_head(app, harness.client, {})
    assert statuses[401] >= 10, statuses


async def test_a_head_of_a_contact_is_its_gets_answer_from_the_fast_endpoint(
    harness: Harness,
) -> None:
    ada = await harness.create(name="Åda Nüñez", email="ada@x.example", tags=["VIP"])
    one = f"/v1/contacts/{ada['id']}"
    status, headers = await head_as_get(harness.client, one, auth(VIEWER_KEY))
    assert (status, headers["etag"]) == (200, '"1"')
    not_modified, _ = await head_as_get(
        harness.client, one, {**auth(VIEWER_KEY), "If-None-Match": '"1"'}
    )
    assert not_modified == 304
    malformed, _ = await head_as_get(
        harness.client, one, {**auth(VIEWER_KEY), "If-None-Match": "1"}
    )
    assert malformed == 400
    missing, _ = await head_as_get(harness.client, f"/v1/contacts/{SOME_ID}", auth(VIEWER_KEY))
    assert missing == 404


async def test_a_head_of_the_contact_stream_is_its_gets_headers(harness: Harness) -> None:
    await harness.create(name="Ada", email="ada@x.example")
    status, headers = await head_as_get(harness.client, "/v1/contacts/stream", auth(VIEWER_KEY))
    assert status == 200
    assert headers["content-type"].startswith("application/x-ndjson")


async def test_a_head_of_a_post_only_route_is_a_405_naming_its_methods(harness: Harness) -> None:
    literal = await harness.client.head("/v1/contacts/purge", headers=auth(ADMIN_KEY))
    assert (literal.status_code, literal.headers["allow"], literal.content) == (405, "POST", b"")
    listing = await harness.client.put("/v1/contacts", headers=auth(ADMIN_KEY))
    assert listing.headers["allow"] == "GET, HEAD, POST"
