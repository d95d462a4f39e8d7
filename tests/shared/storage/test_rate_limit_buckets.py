"""Two replicas' rate limiters over one store of each adapter hand out one bucket, not two."""

from __future__ import annotations

import asyncio

from crm_shared.auth import Principal
from crm_shared.problems import TooManyRequests
from crm_shared.rate_limit import Limit
from crm_shared.rate_limit_store import StoreRateLimiter
from crm_shared.storage import DocumentStore

CALLER = Principal(key_id="key:dash", tenant="acme", roles=frozenset({"viewer"}))


class _Clock:
    def __init__(self) -> None:
        self.now = 2_000_000.0

    def __call__(self) -> float:
        return self.now


async def _served(limiter: StoreRateLimiter) -> bool:
    try:
        await limiter.check(CALLER)
    except TooManyRequests:
        return False
    return True


async def test_replicas_racing_for_one_key_share_its_burst_then_its_refill(
    store: DocumentStore,
) -> None:
    clock = _Clock()
    limit = Limit(rate=8, burst=8)  # slices of 2
    replicas = [StoreRateLimiter(limit, store=lambda: store, clock=clock) for _ in range(2)]
    # Both replicas at once: their bucket writes interleave and one has to read again.
    served = await asyncio.gather(*(_served(replicas[i % 2]) for i in range(24)))
    assert sum(served) == 8
    clock.now += 1.0  # eight tokens' refill (and the slices' hold has run out)
    served = await asyncio.gather(*(_served(replicas[i % 2]) for i in range(24)))
    assert sum(served) == 8
