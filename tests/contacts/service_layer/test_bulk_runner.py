"""Bulk actions while they run: progress, cancel, a filter snapshot that does not drift, a restart
in the middle, and a selection of many chunks (the 100,000-contact run is `make bench-bulk`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest

from crm_contacts.bootstrap import create_app
from tests.conftest import EDITOR_KEY, auth
from tests.contacts.bulk_support import job_state, results, seed, start_bulk, wait_finished
from tests.contacts.helpers import Harness
from tests.polling import app_lifespan, eventually

Started = Callable[..., AbstractAsyncContextManager[Harness]]


@pytest.fixture
def started(platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Started:
    """Start the contacts app over the temp data dir (again after a stop: same SQLite file)."""

    @asynccontextmanager
    async def start(chunk: int = 50, pause: float = 0.05) -> AsyncIterator[Harness]:
        monkeypatch.setenv("CONTACTS_BULK_CHUNK_SIZE", str(chunk))
        monkeypatch.setenv("CONTACTS_BULK_CHUNK_PAUSE_SECONDS", str(pause))
        app = create_app()
        async with app_lifespan(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield Harness(app, client)

    return start


async def _until(harness: Harness, job_id: str, ready: Callable[[dict[str, Any]], bool]) -> Any:
    return await eventually(
        lambda: job_state(harness, job_id),
        ready,
        interval=0.01,
        what=f"bulk action {job_id} reaching the expected state",
    )


async def test_cancel_stops_between_chunks_and_keeps_what_ran(started: Started) -> None:
    async with started(chunk=20, pause=0.1) as harness:
        ids = await seed(harness.app, 400)
        job = await start_bulk(harness, action="add_tags", ids=ids, params={"tags": ["Wave"]})
        await _until(harness, job["id"], lambda s: s["processed"] >= 20)
        response = await harness.client.post(
            f"/v1/bulk-actions/{job['id']}/cancel", headers=auth(EDITOR_KEY)
        )
        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"
        await asyncio.sleep(0.3)  # a chunk in flight when cancelled may still commit
        final = await job_state(harness, job["id"])
        assert final["status"] == "cancelled"
        assert final["finished_at"] is not None
        assert 20 <= final["processed"] < 400
        tagged = (
            await harness.client.get(
                "/v1/contacts", params={"tag": "wave", "limit": 200}, headers=auth(EDITOR_KEY)
            )
        ).json()["items"]
        assert len(tagged) == final["succeeded"] == final["processed"]
        await asyncio.sleep(0.3)
        assert (await job_state(harness, job["id"]))["processed"] == final["processed"]


async def test_a_filter_is_evaluated_once_so_later_contacts_do_not_join(started: Started) -> None:
    async with started(chunk=10, pause=0.05) as harness:
        await seed(harness.app, 100, owner="user-1")
        job = await start_bulk(
            harness, action="add_tags", filter={"owner": "user-1"}, params={"tags": ["Snap"]}
        )
        late = await harness.create(name="Late", owner="user-1")
        await _until(harness, job["id"], lambda s: s["status"] == "running")
        later = await harness.create(name="Later", owner="user-1")
        final = await wait_finished(harness, job["id"])
        assert (final["total"], final["succeeded"]) == (100, 100)
        for contact in (late, later):
            got = (
                await harness.client.get(f"/v1/contacts/{contact['id']}", headers=auth(EDITOR_KEY))
            ).json()
            assert "Snap" not in got["tags"]


async def test_a_job_running_at_a_restart_resumes_where_it_stood(started: Started) -> None:
    async with started(chunk=25, pause=0.05) as harness:
        ids = await seed(harness.app, 500)
        job = await start_bulk(harness, action="add_tags", ids=ids, params={"tags": ["Resumed"]})
        before = await _until(harness, job["id"], lambda s: s["processed"] >= 50)
    assert before["processed"] < 500
    async with started(chunk=25, pause=0.0) as harness:
        final = await wait_finished(harness, job["id"])
        assert final["status"] == "completed"
        assert (final["total"], final["processed"], final["succeeded"]) == (500, 500, 500)
        outcomes = await results(harness, job["id"], limit=1000)
        assert sorted(r["contact_id"] for r in outcomes) == sorted(ids)
        updates = await harness.outbox("crm.contacts.contact.updated.v1")
        assert sorted(e.key for e in updates) == sorted(ids)  # each contact changed once


async def test_add_tags_over_a_selection_of_many_chunks_shows_progress_while_it_runs(
    started: Started,
) -> None:
    # 60 chunks: the snapshot writes its chunks in two transactions (50 a write), and the job
    # reports progress chunk by chunk while it runs.
    count = 6_000
    async with started(chunk=100, pause=0.0) as harness:
        await seed(harness.app, count)
        began = time.monotonic()
        job = await start_bulk(harness, action="add_tags", filter={}, params={"tags": ["Big"]})
        seen: list[int] = []
        while True:
            state = await job_state(harness, job["id"])
            seen.append(state["processed"])
            if state["status"] != "running" and state["status"] != "queued":
                break
            assert time.monotonic() - began < 100, f"still at {state['processed']:,}"
            await asyncio.sleep(0.02)
        assert state["status"] == "completed"
        assert (state["total"], state["succeeded"]) == (count, count)
        assert any(0 < n < count for n in seen), seen
        assert seen == sorted(seen)
        big = (
            await harness.client.get(
                "/v1/contacts", params={"tag": "big", "limit": 1}, headers=auth(EDITOR_KEY)
            )
        ).json()
        assert big["items"]
