"""Per-key rate limits: a token bucket per caller (API key label or fingerprint, token subject).

`CRM_RATE_LIMIT` sets every key's limit as `rate[/burst]` in requests per second (0: no limit);
`CRM_RATE_LIMITS` overrides it per key, `actor=rate[/burst]` comma-separated. A caller over its
limit gets 429 with `Retry-After`. The API's per-key buckets are kept in the service's store and
shared by its replicas (crm_shared.rate_limit_store); `RateLimiter` here keeps its buckets in the
process, for limits that need no store (the contacts forms' per-address limit).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from crm_shared.problems import TooManyRequests


@dataclass(frozen=True)
class Limit:
    """Sustained requests per second, and how many may come at once."""

    rate: float
    burst: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """`rate` or `rate/burst` (burst defaults to twice the rate, at least 1)."""
        rate_text, _, burst_text = text.strip().partition("/")
        rate = float(rate_text)
        burst = int(burst_text) if burst_text else max(1, math.ceil(rate * 2))
        if rate < 0 or burst < 1:
            raise ValueError("a rate limit is rate[/burst] with rate >= 0 and burst >= 1")
        return cls(rate, burst)


def parse_limits(spec: str) -> dict[str, Limit]:
    """Parse `actor=rate[/burst]` entries separated by commas."""
    limits: dict[str, Limit] = {}
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        actor, sep, limit = entry.partition("=")
        if not sep or not actor.strip():
            raise ValueError("each CRM_RATE_LIMITS entry must be actor=rate[/burst]")
        limits[actor.strip()] = Limit.parse(limit)
    return limits


class RateLimiter:
    """Token buckets by caller; thread-safe (sync dependencies run in a thread pool)."""

    def __init__(
        self,
        default: Limit | None,
        per_key: dict[str, Limit] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._default = default
        self._per_key = per_key or {}
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # actor -> (tokens, updated at)
        self._lock = threading.Lock()

    def check(self, actor: str) -> None:
        """Take one request from the caller's bucket, or raise 429 saying when to retry."""
        limit = self._per_key.get(actor, self._default)
        if limit is None or limit.rate == 0:
            return
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get(actor, (float(limit.burst), now))
            tokens = min(float(limit.burst), tokens + (now - updated) * limit.rate)
            if tokens < 1.0:
                self._buckets[actor] = (tokens, now)
                retry_after = max(1, math.ceil((1.0 - tokens) / limit.rate))
                raise TooManyRequests(
                    f"rate limit of {limit.rate:g} requests per second exceeded for this key",
                    retry_after=retry_after,
                )
            self._buckets[actor] = (tokens - 1.0, now)
