"""A keyed create killed at any point: its retry replays the first answer or does the work once.

Found by fault seed 1081700496: the answer was kept in a transaction after the work's, so a kill
between the two left the work committed and no answer, and the retry (once the claim lapsed)
created again and got 409 "already has this email". Here a store that "dies" (every later call
raises, as in a killed process) at a chosen commit stands in for the kill; a second app over the
same database is the restarted process, its clock past the claim's lease.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response

from crm_shared import idempotency_records as records
from crm_shared.clock import utcnow
from crm_shared.http import EditorAuth, StoreDep
from crm_shared.idempotency import Idempotent
from crm_shared.ids import new_id
from crm_shared.problems import Conflict
from crm_shared.service import new_service_app
from crm_shared.settings import PlatformSettings
from crm_shared.storage import (
    CollectionSpec,
    DocumentStore,
    DuplicateKeyError,
    Eq,
    Session,
)
from crm_shared.storage.delegating import DelegatingStore
from tests.conftest import EDITOR_KEY, TEST_API_KEYS, auth
from tests.polling import app_lifespan, bounded


class ProcessKilled(BaseException):
    """What every store call raises once the "process" is dead (nothing catches it)."""


class DyingStore(DelegatingStore):
    """A store that dies right before or right after the n-th commit the requests make (the
    test's task: httpx runs the app in it), not counting the app's background loops; the
    database survives."""

    def __init__(
        self, inner: DocumentStore, *, before_commit: int = 0, after_commit: int = 0
    ) -> None:
        super().__init__(inner)
        self._before, self._after = before_commit, after_commit
        self._commits = 0
        self._requests = asyncio.current_task()
        self.dead = False

    def _alive(self) -> None:
        if self.dead:
            raise ProcessKilled

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Session]:
        self._alive()
        async with self.inner.transaction() as session:
            yield session
            if asyncio.current_task() is not self._requests:
                return
            self._commits += 1
            if self._commits == self._before:
                self.dead = True
                raise ProcessKilled  # inside the block: the store rolls the transaction back
        if self._commits == self._after and asyncio.current_task() is self._requests:
            self.dead = True
            raise ProcessKilled

    def transaction(self) -> AbstractAsyncContextManager[Session]:
        return self._transaction()

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[Session]:
        self._alive()
        async with self.inner.reader() as session:
            yield session

    def reader(self) -> AbstractAsyncContextManager[Session]:
        return self._reader()

    async def start(self, specs: Sequence[CollectionSpec]) -> None:
        return None  # the fixture started the database

    async def close(self) -> None:
        return None  # the next "process" opens the same database

    async def ping(self) -> None:
        self._alive()


def _app(store: DocumentStore, *, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.start([records.IDEMPOTENCY_COLLECTION])
        app.state.store = store
        yield

    settings = PlatformSettings(crm_api_keys=TEST_API_KEYS)
    app = new_service_app(title="t", description="t", settings=settings, lifespan=lifespan)
    app.state.clock = clock
    app.state.background = []

    @app.post("/people", status_code=201, dependencies=[Idempotent])
    async def create(
        body: dict[str, str], _: EditorAuth, store: StoreDep, response: Response
    ) -> dict[str, str]:
        doc = {"id": new_id(), "tenant": "acme", "email": body["email"]}
        try:
            async with store.transaction() as session:
                await session.insert("contacts", doc)
        except DuplicateKeyError:
            raise Conflict("a contact already has this email") from None
        if "read_back" in body:  # e.g. the duplicates of the contact just created
            async with store.reader() as session:
                found = await session.get("contacts", tenant="acme", id=doc["id"])
            return {"id": doc["id"], "read_back": "yes" if found else "no"}
        if "then" in body:  # a task the route starts is not the request's work
            app.state.background.append(asyncio.create_task(_write_later(store, body["then"])))
        response.headers["Location"] = f"/people/{doc['id']}"
        return {"id": doc["id"], "email": doc["email"]}

    return app


async def _write_later(store: DocumentStore, email: str) -> None:
    async with store.transaction() as session:
        await session.insert("contacts", {"id": new_id(), "tenant": "acme", "email": email})


@asynccontextmanager
async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app_lifespan(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


def _headers(key: str = "create-ada") -> dict[str, str]:
    return {**auth(EDITOR_KEY), "Idempotency-Key": key}


async def _send_and_die(store: DyingStore, body: dict[str, str]) -> None:
    """The first process: it dies during the request; its client sees no answer."""
    async with _client(_app(store)) as http:
        with pytest.raises(ProcessKilled):
            await http.post("/people", json=body, headers=_headers())
    assert store.dead, "the store never reached the commit it was to die at"


async def _retry_after_restart(store: DocumentStore, body: dict[str, str]) -> httpx.Response:
    """The restarted process, a minute later: the dead request's claim has lapsed."""

    def later() -> datetime:
        return utcnow() + records.CLAIM_LEASE + timedelta(seconds=1)

    async with _client(_app(store, clock=later)) as http:
        return await http.post("/people", json=body, headers=_headers())


async def _people(store: DocumentStore, email: str) -> list[dict[str, Any]]:
    async with store.reader() as session:
        return await session.find("contacts", tenant="acme", where=[Eq("email", email)])


async def test_a_kill_right_after_the_work_commits_replays_the_first_answer(
    store: DocumentStore,
) -> None:
    body = {"email": "ada@example.com"}
    # Commit 1 is the claim, commit 2 the work (and now its answer).
    await _send_and_die(DyingStore(store, after_commit=2), body)
    retry = await _retry_after_restart(store, body)
    [person] = await _people(store, "ada@example.com")
    assert retry.status_code == 201, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == {"id": person["id"], "email": "ada@example.com"}
    assert retry.headers["location"] == f"/people/{person['id']}"


@pytest.mark.needs_transactions
@pytest.mark.parametrize(
    "kill", [{"after_commit": 1}, {"before_commit": 2}], ids=["after-claim", "during-work-commit"]
)
async def test_a_kill_before_the_work_commits_lets_the_retry_do_it_once(
    store: DocumentStore, kill: dict[str, int]
) -> None:
    body = {"email": "ada@example.com"}
    await _send_and_die(DyingStore(store, **kill), body)
    assert await _people(store, "ada@example.com") == []
    retry = await _retry_after_restart(store, body)
    [person] = await _people(store, "ada@example.com")
    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers
    assert retry.json()["id"] == person["id"]


async def test_a_task_the_route_starts_writes_on_its_own(store: DocumentStore) -> None:
    app = _app(store)
    async with _client(app) as http:
        body = {"email": "ada@example.com", "then": "grace@example.com"}
        created = await http.post("/people", json=body, headers=_headers())
        assert created.status_code == 201
        [task] = app.state.background
        await bounded(task, seconds=10, what="the route's task committing")
    assert len(await _people(store, "grace@example.com")) == 1


async def test_the_route_reads_what_it_wrote_before_the_answer_commits(
    store: DocumentStore,
) -> None:
    async with _client(_app(store)) as http:
        body = {"email": "ada@example.com", "read_back": "1"}
        created = await http.post("/people", json=body, headers=_headers())
    assert created.status_code == 201
    assert created.json()["read_back"] == "yes"
