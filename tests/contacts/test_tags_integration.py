"""With the real embedded broker: a tag rename's per-contact ContactUpdated reaches Kafka."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from crm_contacts.bootstrap import create_app
from crm_shared.devstack import EmbeddedBroker
from crm_shared.events import ContactUpdated
from crm_shared.topics import CONTACT_EVENTS
from tests.conftest import EDITOR_KEY, auth
from tests.contacts.test_integration import _first_matching

pytestmark = pytest.mark.integration


@pytest.fixture
async def client_with_broker(
    platform_env: dict[str, str], broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
    app = create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_a_tag_rename_publishes_contact_updated_keyed_by_contact(
    client_with_broker: httpx.AsyncClient, broker: EmbeddedBroker
) -> None:
    editor = auth(EDITOR_KEY)
    created = await client_with_broker.post(
        "/v1/contacts", json={"name": "Ada", "tags": ["VIP"]}, headers=editor
    )
    contact_id = created.json()["id"]
    tags = await client_with_broker.get("/v1/tags?kind=manual", headers=editor)
    [tag] = tags.json()["items"]
    renamed = await client_with_broker.patch(
        f"/v1/tags/{tag['id']}", json={"name": "Gold"}, headers=editor
    )
    assert renamed.status_code == 200
    event = await _first_matching(
        broker, CONTACT_EVENTS.name, ContactUpdated.event_type, contact_id
    )
    assert event.data["changes"]["tags"] == {
        "before": ["VIP", "source:manual"],
        "after": ["Gold", "source:manual"],
    }
