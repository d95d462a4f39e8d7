"""Sessions in the console's store: found by the token's hash, the key sealed, idle ones expire."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from crm_console.adapters.repositories import COLLECTION_SPECS, SESSIONS
from crm_console.service_layer.sessions import close_session, find_session, open_session
from crm_shared.storage import DocumentStore
from crm_shared.storage.sqlite import SqliteStore

IDLE = timedelta(minutes=5)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[DocumentStore]:
    opened = SqliteStore(str(tmp_path / "console.sqlite3"))
    await opened.start(COLLECTION_SPECS)
    try:
        yield opened
    finally:
        await opened.close()


async def _stored(store: DocumentStore) -> list[dict[str, object]]:
    async with store.reader() as reader:
        return await reader.find(SESSIONS, tenant="console")


async def test_the_store_holds_neither_the_token_nor_the_key_in_clear(
    store: DocumentStore, tmp_path: Path
) -> None:
    session = await open_session(store, api_key="secret-api-key-1", role="editor", idle=IDLE)

    (doc,) = await _stored(store)
    assert doc["id"] == session.ref != session.token
    assert "secret-api-key-1" not in str(doc) and session.token not in str(doc)
    await store.close()
    assert b"secret-api-key-1" not in _files_under(tmp_path)


async def test_the_token_finds_the_session_with_its_key_role_and_csrf_token(
    store: DocumentStore,
) -> None:
    opened = await open_session(store, api_key="k1", role="admin", idle=IDLE)

    found = await find_session(store, opened.token, idle=IDLE)

    assert found == opened
    assert found is not None and found.csrf_token == opened.csrf_token
    assert await find_session(store, opened.token + "x", idle=IDLE) is None
    assert await find_session(store, None, idle=IDLE) is None


async def test_a_session_unused_for_its_idle_time_is_gone(store: DocumentStore) -> None:
    opened = await open_session(store, api_key="k1", role="viewer", idle=timedelta(seconds=-1))

    assert await find_session(store, opened.token, idle=IDLE) is None


async def test_a_stolen_sealed_key_does_not_open_under_another_sessions_token(
    store: DocumentStore,
) -> None:
    victim = await open_session(store, api_key="victim-key", role="admin", idle=IDLE)
    thief = await open_session(store, api_key="thief-key", role="viewer", idle=IDLE)
    docs = {d["id"]: d for d in await _stored(store)}
    async with store.transaction() as tx:
        # Someone with write access to the store copies the victim's sealed key into their row.
        forged = {**docs[thief.ref], "sealed_key": docs[victim.ref]["sealed_key"], "role": "admin"}
        await tx.replace(SESSIONS, forged)

    assert await find_session(store, thief.token, idle=IDLE) is None


async def test_signing_out_deletes_the_session(store: DocumentStore) -> None:
    opened = await open_session(store, api_key="k1", role="viewer", idle=IDLE)

    await close_session(store, opened.token)

    assert await find_session(store, opened.token, idle=IDLE) is None
    assert await _stored(store) == []


def _files_under(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())
