"""Time-ordered identifiers (UUIDv7), so primary-key inserts stay append-only."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0
# The text of the last millisecond's id head (`_head`): ids made in one millisecond share it.
_head_ms = -1
_head_text = ""
# Randomness for `new_id`, read from the OS a few hundred ids at a time (a read per id was a
# quarter of an id's cost); each byte is used once. Emptied in a forked child, which would
# otherwise make its parent's next ids.
_NOISE_BYTES = 10
_POOL_BYTES = 400 * _NOISE_BYTES
_pool = b""
_pool_at = 0


def _forget_pool() -> None:
    global _pool, _pool_at
    _pool, _pool_at = b"", 0


os.register_at_fork(after_in_child=_forget_pool)

# The variant's two bits (10) written into the first hex digit of the random part.
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def _next_stamp(now_ms: int, start: bytes) -> tuple[int, int]:
    """The next (milliseconds, counter), larger than every one before in the process; `start`
    (random) seeds the counter when the clock has moved on. Called holding `_lock`."""
    global _last_ms, _counter
    if now_ms <= _last_ms:
        _counter += 1
        if _counter > 0xFFF:
            _last_ms += 1
            _counter = 0
    else:
        _last_ms = now_ms
        _counter = int.from_bytes(start, "big") & 0x3FF
    return _last_ms, _counter


def _head(ms: int) -> str:
    """The text of an id up to its counter: the 48-bit time and the version digit."""
    text = f"{ms & 0xFFFF_FFFF_FFFF:012x}"
    return f"{text[:8]}-{text[8:]}-7"


def _tail(counter: int, rand: str) -> str:
    """The rest: the counter, the variant and 62 random bits (from 16 random hex digits)."""
    return f"{counter:03x}-{_VARIANT_DIGIT[rand[0]]}{rand[1:4]}-{rand[4:]}"


def new_id() -> str:
    """Return a new UUIDv7 string; ids made in one process are strictly increasing."""
    global _head_ms, _head_text, _pool, _pool_at
    with _lock:
        if _pool_at + _NOISE_BYTES > len(_pool):
            _pool, _pool_at = os.urandom(_POOL_BYTES), 0
        noise = _pool[_pool_at : _pool_at + _NOISE_BYTES]
        _pool_at += _NOISE_BYTES
        ms, counter = _next_stamp(time.time_ns() // 1_000_000, noise[8:])
        # Each outbox row, queue entry and audit entry takes an id: the head's text is made
        # once per millisecond, not once per id (a fifth of an id's cost).
        if ms != _head_ms:
            _head_ms, _head_text = ms, _head(ms)
        head = _head_text
    return head + _tail(counter, noise[:8].hex())


def new_ids(count: int) -> list[str]:
    """`count` new ids, as `count` calls of `new_id` would give them (each larger than every id
    made before in the process), for one read of the OS's randomness and one lock."""
    noise = os.urandom(8 * count + 2)
    rand, start = noise[:-2].hex(), noise[-2:]
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        stamps = [_next_stamp(now_ms, start) for _ in range(count)]
    ids: list[str] = []
    head_ms, head = -1, ""
    for position, (ms, counter) in enumerate(stamps):
        if ms != head_ms:  # a batch's ids mostly share their millisecond: its text is made once
            head_ms, head = ms, _head(ms)
        ids.append(head + _tail(counter, rand[16 * position : 16 * position + 16]))
    return ids


def id_unix_time(value: str) -> float | None:
    """When a UUIDv7 was made, in Unix seconds; None for anything that is not a UUIDv7."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    if parsed.version != 7:
        return None
    return (parsed.int >> 80) / 1000.0
