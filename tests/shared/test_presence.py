"""Presence: an instance is alive while it renews its lease, gone once it stopped or crashed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crm_shared.presence import Presence
from crm_shared.storage import DocumentStore
from crm_shared.storage.sqlite import SqliteStore
from tests.polling import cancel_and_wait, eventually

TTL = 0.6


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[DocumentStore, DocumentStore]]:
    """Two connections to one SQLite file, as two replicas have."""
    a, b = SqliteStore(str(tmp_path / "s.sqlite3")), SqliteStore(str(tmp_path / "s.sqlite3"))
    await a.start(())
    await b.start(())
    yield a, b
    await a.close()
    await b.close()


async def test_two_instances_have_different_ids_safe_in_file_names(
    stores: tuple[DocumentStore, DocumentStore],
) -> None:
    a, b = (Presence(s, service="svc", ttl=TTL) for s in stores)
    assert a.id != b.id
    assert all(c.isalnum() or c in "-_" for c in a.id + b.id)


async def test_a_live_instance_is_not_gone_while_it_renews(
    stores: tuple[DocumentStore, DocumentStore],
) -> None:
    a, b = (Presence(s, service="svc", ttl=TTL) for s in stores)
    await a.announce()
    beating = asyncio.create_task(a.run())
    try:
        for _ in range(3):  # longer than a time to live: the renewals keep it
            await asyncio.sleep(TTL / 2)
            assert not await b.is_gone(a.id)
        assert not await a.is_gone(a.id), "an instance is never gone to itself"
    finally:
        await cancel_and_wait(beating)
    # Stopped cleanly: released, gone at once.
    assert await b.is_gone(a.id)


async def test_a_crashed_instance_is_gone_once_its_lease_expired(
    stores: tuple[DocumentStore, DocumentStore],
) -> None:
    a, b = (Presence(s, service="svc", ttl=TTL) for s in stores)
    await a.announce()  # and never renews: a SIGKILL leaves the lease to expire
    assert not await b.is_gone(a.id)
    await eventually(lambda: b.is_gone(a.id), within=5, what="the crashed instance to be gone")


async def test_an_owner_that_never_announced_itself_is_gone(
    stores: tuple[DocumentStore, DocumentStore],
) -> None:
    b = Presence(stores[1], service="svc", ttl=TTL)
    assert await b.is_gone("nobody-1")
    assert await b.is_gone("nobody-1"), "asking does not make it alive"
