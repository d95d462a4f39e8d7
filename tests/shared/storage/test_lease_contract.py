"""The storage port's lease contract, run over every adapter by the parametrized `store` fixture.

Expiry is real time: leases here live 0.3 s, and the waits are just past that.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from crm_shared.storage import DocumentStore
from crm_shared.storage.leases import LeaseRow, decide
from crm_shared.storage.sqlite import SqliteStore

TTL = 0.3


async def test_a_free_lease_is_taken_with_token_one(store: DocumentStore) -> None:
    lease = await store.acquire_lease("relay", holder="replica-a", ttl=TTL)
    assert lease is not None
    assert (lease.name, lease.holder, lease.token) == ("relay", "replica-a", 1)


async def test_a_held_lease_is_refused_to_another_holder(store: DocumentStore) -> None:
    assert await store.acquire_lease("relay", holder="replica-a", ttl=30) is not None
    assert await store.acquire_lease("relay", holder="replica-b", ttl=30) is None


async def test_leases_with_different_names_are_independent(store: DocumentStore) -> None:
    assert await store.acquire_lease("relay", holder="replica-a", ttl=30) is not None
    other = await store.acquire_lease("purge", holder="replica-b", ttl=30)
    assert other is not None and other.token == 1


async def test_the_holder_renews_its_lease_keeping_the_token(store: DocumentStore) -> None:
    # Half a time to live apart, and the check just past the first expiry: a long enough
    # lease that a busy machine's late wake-up (tenths of a second) still lands before the
    # renewed expiry.
    ttl = 1.0
    first = await store.acquire_lease("relay", holder="replica-a", ttl=ttl)
    await asyncio.sleep(ttl / 2)
    renewed = await store.acquire_lease("relay", holder="replica-a", ttl=ttl)
    assert first is not None and renewed is not None
    assert renewed.token == first.token
    assert renewed.expires_at > first.expires_at
    await asyncio.sleep(max(first.expires_at - time.time(), 0) + 0.05)
    assert await store.acquire_lease("relay", holder="replica-b", ttl=ttl) is None


async def test_an_expired_lease_is_stolen_with_a_higher_token(store: DocumentStore) -> None:
    first = await store.acquire_lease("relay", holder="replica-a", ttl=TTL)
    await asyncio.sleep(TTL + 0.1)
    stolen = await store.acquire_lease("relay", holder="replica-b", ttl=30)
    assert first is not None and stolen is not None
    assert stolen.holder == "replica-b"
    assert stolen.token == first.token + 1
    # The old holder comes back: the lease is no longer its own.
    assert await store.acquire_lease("relay", holder="replica-a", ttl=30) is None


async def test_a_released_lease_is_free_at_once(store: DocumentStore) -> None:
    await store.acquire_lease("relay", holder="replica-a", ttl=30)
    await store.release_lease("relay", holder="replica-a")
    taken = await store.acquire_lease("relay", holder="replica-b", ttl=30)
    assert taken is not None and taken.token == 2


async def test_only_the_holder_can_release_a_lease(store: DocumentStore) -> None:
    await store.acquire_lease("relay", holder="replica-a", ttl=30)
    await store.release_lease("relay", holder="replica-b")
    assert await store.acquire_lease("relay", holder="replica-b", ttl=30) is None


async def test_of_many_concurrent_takers_exactly_one_wins(store: DocumentStore) -> None:
    results = await asyncio.gather(
        *(store.acquire_lease("relay", holder=f"replica-{i}", ttl=30) for i in range(8))
    )
    assert len([r for r in results if r is not None]) == 1


def test_a_lease_needs_a_positive_time_to_live() -> None:
    with pytest.raises(ValueError, match="positive"):
        decide(None, holder="replica-a", ttl=0)


def test_the_rule_takes_free_renews_own_and_refuses_held_leases() -> None:
    held = LeaseRow(holder="a", token=4, expires_at=100.0)
    assert decide(held, holder="b", ttl=10, now=99.0) is None
    assert decide(held, holder="a", ttl=10, now=99.0) == LeaseRow("a", 4, 109.0)
    assert decide(held, holder="b", ttl=10, now=100.0) == LeaseRow("b", 5, 110.0)


async def test_two_sqlite_stores_on_one_file_share_their_leases(tmp_path: Path) -> None:
    """Two replicas (two connections, as two processes have) see one lease table."""
    path = tmp_path / "shared.sqlite3"
    first, second = SqliteStore(path), SqliteStore(path)
    await first.start(())
    await second.start(())
    try:
        assert await first.acquire_lease("relay", holder="replica-a", ttl=30) is not None
        assert await second.acquire_lease("relay", holder="replica-b", ttl=30) is None
        await first.release_lease("relay", holder="replica-a")
        taken = await second.acquire_lease("relay", holder="replica-b", ttl=30)
        assert taken is not None and taken.token == 2
    finally:
        await first.close()
        await second.close()
