"""Per-key rate limits that hold across replicas: one token bucket per key, kept in the store.

Each key's bucket (`rate` tokens a second, up to `burst`) is a document in the service's own
store, which every replica shares. Writing it on every request would put a store write in every
request's path, so a replica takes a *slice* of tokens in one write (a quarter of a second's
worth, at most half the burst, at least one) and spends it locally; it goes back to the store
only when its slice is spent. A bucket found empty is remembered locally until it holds a whole
slice again, and callers refused meanwhile cost no store access. So a key at (or over) its rate
costs each replica at most about four reads and four writes of its bucket a second.

Semantics: whatever the number of replicas, a key is served no more tokens than its one bucket
hands out (at most `burst` at once, then `rate` a second). Two approximations, both toward
refusing: a replica keeps the unspent part of a slice for at most `HOLD_SECONDS` and then drops
it (those tokens are lost, not handed back), and while one replica holds unspent tokens another
may be refused. Tokens taken before a window and spent in it can add at most one slice per
replica to what the window serves. Buckets refill by wall-clock time, so replicas' clocks are
assumed to agree to well under a second (NTP); a clock behind the bucket's refills nothing.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from crm_shared.auth import Principal
from crm_shared.problems import TooManyRequests
from crm_shared.rate_limit import Limit
from crm_shared.storage import (
    CollectionSpec,
    ConcurrentWriteError,
    DocumentStore,
    DuplicateKeyError,
)

RATE_LIMIT_BUCKETS = "rate_limit_buckets"
# Every service declares it among its collection specs, beside the idempotency keys.
RATE_LIMIT_COLLECTION = CollectionSpec(RATE_LIMIT_BUCKETS)

SLICE_SECONDS = 0.25  # a slice is this many seconds of the key's rate...
HOLD_SECONDS = 1.0  # ...kept unspent for at most this long
_WRITE_ATTEMPTS = 5  # another replica wrote the bucket between our read and our write


def slice_size(limit: Limit) -> int:
    """How many tokens a replica takes from the store at once."""
    return max(1, min(limit.burst // 2, math.floor(limit.rate * SLICE_SECONDS)))


@dataclass
class _Held:
    """What this replica holds of one key's bucket."""

    tokens: int = 0
    taken_at: float = 0.0
    empty_until: float = 0.0  # the store's bucket holds no whole token before then


class StoreRateLimiter:
    """Token buckets by caller, shared by every replica through the store."""

    def __init__(
        self,
        default: Limit | None,
        per_key: dict[str, Limit] | None = None,
        *,
        store: Callable[[], DocumentStore],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._default = default
        self._per_key = per_key or {}
        self._store = store  # called per use: the app's lifespan opens the store after start-up
        self._clock = clock
        self._held: dict[tuple[str, str], _Held] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def check(self, principal: Principal) -> None:
        """Take one request from the caller's bucket, or raise 429 saying when to retry."""
        limit = self._per_key.get(principal.key_id, self._default)
        if limit is None or limit.rate == 0:
            return
        key = (principal.tenant, principal.key_id)
        # One refill at a time per key in this process: concurrent requests share its slice.
        async with self._locks.setdefault(key, asyncio.Lock()):
            held = self._held.setdefault(key, _Held())
            now = self._clock()
            if held.tokens and now - held.taken_at > HOLD_SECONDS:
                held.tokens = 0
            if not held.tokens:
                if now < held.empty_until:
                    raise _too_many(limit, held.empty_until - now)
                await self._take_slice(key, limit, held, now)
            held.tokens -= 1

    async def _take_slice(
        self, key: tuple[str, str], limit: Limit, held: _Held, now: float
    ) -> None:
        for _ in range(_WRITE_ATTEMPTS):
            try:
                taken, left = await self._take_from_store(key, limit, now)
            except (DuplicateKeyError, ConcurrentWriteError):
                continue
            if taken:
                held.tokens, held.taken_at = taken, now
                return
            # Asked again only once a whole slice is back: a key kept at its limit by many
            # callers would otherwise cost a write for every token the bucket refills.
            held.empty_until = now + (slice_size(limit) - left) / limit.rate
            raise _too_many(limit, held.empty_until - now)
        # Contention this high means the bucket is being drained elsewhere: refuse, briefly.
        raise _too_many(limit, 1.0)

    async def _take_from_store(
        self, key: tuple[str, str], limit: Limit, now: float
    ) -> tuple[int, float]:
        """(tokens taken, tokens left) after refilling the stored bucket up to `now`."""
        tenant, key_id = key
        async with self._store().transaction() as session:
            doc = await session.get(RATE_LIMIT_BUCKETS, tenant=tenant, id=key_id)
            if doc is None:
                tokens = float(limit.burst)
            else:
                elapsed = max(0.0, now - float(doc["updated"]))
                tokens = min(float(limit.burst), float(doc["tokens"]) + elapsed * limit.rate)
            taken = min(slice_size(limit), math.floor(tokens))
            if taken < 1:
                return 0, tokens  # nothing written: a refusal costs one read
            fresh = {
                "id": key_id,
                "tenant": tenant,
                "tokens": tokens - taken,
                "updated": now,
                "version": 1 if doc is None else int(doc["version"]) + 1,
            }
            if doc is None:
                await session.insert(RATE_LIMIT_BUCKETS, fresh)
            elif not await session.replace(
                RATE_LIMIT_BUCKETS, fresh, expected_version=int(doc["version"])
            ):
                raise ConcurrentWriteError(f"{RATE_LIMIT_BUCKETS}: bucket changed")
            return taken, tokens - taken


def _too_many(limit: Limit, wait: float) -> TooManyRequests:
    return TooManyRequests(
        f"rate limit of {limit.rate:g} requests per second exceeded for this key",
        retry_after=max(1, math.ceil(wait)),
    )
