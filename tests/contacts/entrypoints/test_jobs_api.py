"""`/v1/jobs` over HTTP: listing and reading jobs, and a job that survives a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from crm_contacts.bootstrap import create_app
from crm_shared.events import ContactUpdated
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.bulk_support import seed
from tests.contacts.helpers import Harness
from tests.contacts.job_support import job_finished
from tests.polling import app_lifespan, eventually

Started = Callable[..., AbstractAsyncContextManager[Harness]]


async def _tag(harness: Harness, name: str) -> dict[str, Any]:
    response = await harness.client.post("/v1/tags", json={"name": name}, headers=auth(EDITOR_KEY))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _rename(harness: Harness, tag_id: str, name: str) -> httpx.Response:
    return await harness.client.patch(
        f"/v1/tags/{tag_id}", json={"name": name}, headers=auth(EDITOR_KEY)
    )


async def test_jobs_are_listed_newest_first_and_paged(harness: Harness) -> None:
    first = await _tag(harness, "VIP")
    second = await _tag(harness, "Lead")
    renamed = await job_finished(harness.client, await _rename(harness, first["id"], "Gold"))
    deleted = await harness.client.delete(f"/v1/tags/{second['id']}", headers=auth(EDITOR_KEY))
    removed = await job_finished(harness.client, deleted)
    page = await harness.client.get("/v1/jobs?limit=1", headers=auth(VIEWER_KEY))
    assert page.status_code == 200
    assert [j["id"] for j in page.json()["items"]] == [removed["id"]]
    rest = await harness.client.get(
        f"/v1/jobs?limit=1&cursor={page.json()['next_cursor']}", headers=auth(VIEWER_KEY)
    )
    assert [j["id"] for j in rest.json()["items"]] == [renamed["id"]]
    assert rest.json()["next_cursor"] is None
    assert renamed["params"] == {"tag_id": first["id"], "old": "VIP", "new": "Gold"}


async def test_a_job_is_the_tenants_own_and_needs_a_key(harness: Harness) -> None:
    tag = await _tag(harness, "VIP")
    job = await job_finished(harness.client, await _rename(harness, tag["id"], "Gold"))
    other = await harness.client.get(f"/v1/jobs/{job['id']}", headers=auth(OTHER_TENANT_KEY))
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"
    assert (await harness.client.get("/v1/jobs")).status_code == 401
    listed = await harness.client.get("/v1/jobs", headers=auth(OTHER_TENANT_KEY))
    assert listed.json()["items"] == []


async def test_a_bad_cursor_is_400(harness: Harness) -> None:
    response = await harness.client.get("/v1/jobs?cursor=nonsense", headers=auth(ADMIN_KEY))
    assert response.status_code == 400


async def test_a_regroup_without_rename_answers_200_without_a_job(harness: Harness) -> None:
    tag = await _tag(harness, "VIP")
    response = await harness.client.patch(
        f"/v1/tags/{tag['id']}", json={"group": "Type"}, headers=auth(EDITOR_KEY)
    )
    assert (response.status_code, response.json()["job"]) == (200, None)
    assert "location" not in response.headers


@pytest.fixture
def started(platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Started:
    """Start the contacts app over the temp data dir (again after a stop: same SQLite file)."""

    @asynccontextmanager
    async def start(batch: int, pause: float) -> AsyncIterator[Harness]:
        monkeypatch.setenv("CONTACTS_JOB_BATCH_SIZE", str(batch))
        monkeypatch.setenv("CONTACTS_JOB_PAUSE_SECONDS", str(pause))
        app = create_app()
        async with app_lifespan(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield Harness(app, client)

    return start


async def test_a_job_stopped_by_a_restart_completes_once_per_contact(started: Started) -> None:
    async with started(batch=20, pause=0.2) as harness:
        tag = await _tag(harness, "VIP")
        ids = await seed(harness.app, 300, tags=["VIP", "source:manual"])
        response = await _rename(harness, tag["id"], "Gold")
        assert response.status_code == 202
        location = response.headers["location"]

        async def state() -> dict[str, Any]:
            return dict((await harness.client.get(location, headers=auth(VIEWER_KEY))).json())

        mid = await eventually(state, lambda job: job["progress"]["done"] >= 40, interval=0.02)
        assert mid["status"] == "running" and mid["progress"]["done"] < 300
    # The service stopped mid-job; it starts again over the same store and resumes the job.
    async with started(batch=50, pause=0.0) as harness:
        job = await job_finished(harness.client, response)
        assert (job["status"], job["progress"]["done"], job["progress"]["changed"]) == (
            "completed",
            300,
            300,
        )
        events = await harness.outbox(ContactUpdated.event_type)
        assert sorted(e.key for e in events if e.key) == sorted(ids)  # once per contact
        for contact_id in (ids[0], ids[150], ids[-1]):
            stored = await harness.client.get(
                f"/v1/contacts/{contact_id}", headers=auth(VIEWER_KEY)
            )
            assert (stored.json()["tags"][0], stored.json()["version"]) == ("Gold", 2)
