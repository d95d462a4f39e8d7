"""HEAD on every GET route of the importer service: the GET's status and headers, without a body."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.conftest import ADMIN_KEY, auth
from tests.head_parity import every_get_route_answers_head


async def test_every_get_route_answers_head_as_its_get(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    statuses = await every_get_route_answers_head(app, client, auth(ADMIN_KEY))
    assert statuses[200] >= 2, statuses  # not only refusals: answers with bodies were compared


async def test_every_get_route_answers_a_head_without_a_key_as_its_get(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    statuses = await every_get_route_answers_head(app, client, {})
    assert statuses[401] >= 1, statuses
