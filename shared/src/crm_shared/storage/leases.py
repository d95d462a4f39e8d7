"""Leases in the store: one holder at a time for a named piece of work, across replicas.

A lease is held by one holder (a replica's id) until it expires; the holder renews it well before
then. Another holder may take it only after it expired (a crashed or paused replica), and each
change of holder raises the lease's fencing token by one, so a holder that sees a token other than
the one it started with knows someone else held the lease in between. Expiry is judged by the
clocks of the replicas (epoch seconds): keep their skew far below the lease's time to live.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Lease:
    """A lease as its holder got it: the token grows each time the lease changes hands."""

    name: str
    holder: str
    token: int
    expires_at: float


@dataclass(frozen=True)
class LeaseRow:
    """A lease as stored, whoever holds it."""

    holder: str
    token: int
    expires_at: float


def decide(
    current: LeaseRow | None, *, holder: str, ttl: float, now: float | None = None
) -> LeaseRow | None:
    """What the lease becomes when `holder` asks for it; None when another holder keeps it.

    The one rule every adapter applies inside its own atomic write: a free or expired lease is
    taken (token + 1 when it changes hands), the holder's own lease is renewed (same token).
    """
    if ttl <= 0:
        raise ValueError("a lease's time to live must be positive")
    at = time.time() if now is None else now
    if current is None:
        return LeaseRow(holder=holder, token=1, expires_at=at + ttl)
    if current.holder == holder:
        return LeaseRow(holder=holder, token=current.token, expires_at=at + ttl)
    if current.expires_at <= at:
        return LeaseRow(holder=holder, token=current.token + 1, expires_at=at + ttl)
    return None
