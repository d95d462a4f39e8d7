"""The actor recorded in a write's events is the label of the key that made it."""

from __future__ import annotations

import httpx
import orjson
import pytest

from crm_contacts.bootstrap import create_app
from tests.polling import app_lifespan


async def test_a_write_with_a_labelled_key_records_the_label_as_the_actor(
    platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_API_KEYS", "labelled-key:acme:editor:crm-sync")
    app = create_app()
    async with app_lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post(
                "/v1/contacts",
                json={"name": "Mary Jackson"},
                headers={"Authorization": "Bearer labelled-key"},
            )
        assert response.status_code == 201, response.text
        pending = await app.state.store.pending_events(100)
    actors = {orjson.loads(p.value)["actor"] for p in pending}
    assert actors == {"key:crm-sync"}
