"""How often a service process runs Python's cyclic garbage collector.

An import batch builds ~100k dicts and lists (a thousand rows' profiles, documents, events) that
live until the batch commits. At Python's default (a young collection per 700 net allocations),
the collector rescans them again and again while they are built and promotes them until full
collections walk the whole heap: measured in contacts applying import batches at ~116 µs of CPU
per row, against ~12 µs with the thresholds below (bench/import_apply_bench.py). Nearly
everything a service allocates is freed by reference counting; the collector only finds cycles,
so running it less often costs a little memory held a little longer.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# Young generation: net allocations between collections (default 700); the older two: young
# collections per middle one (default 10) and middle ones per full one (default 10).
THROUGHPUT_THRESHOLDS = (50_000, 20, 10)


def collect_for_throughput() -> None:
    """Set this process's collector to the thresholds above (once, at process start)."""
    gc.set_threshold(*THROUGHPUT_THRESHOLDS)


# Batches under way that paused the collector, and whether it ran before the first of them.
_pausing = 0
_enabled_before = True


@contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic collection inside: for a batch whose objects all live until it ends.

    An import batch's rows, documents and events (~100k objects) all stay alive until it
    commits, so every young collection during it scans them only to keep them: measured at
    ~20 us of CPU per row in contacts applying import batches (of ~140 us on its event loop).
    Once the batch's objects are freed by reference counting, the allocation count the collector
    starts from is back near where it was, so pausing defers no work, it skips it. Cycles made
    meanwhile wait for the next collection. Overlapping batches (tasks of one event loop) keep it
    paused until the last ends; a collector already disabled stays so.
    """
    global _pausing, _enabled_before
    if _pausing == 0:
        _enabled_before = gc.isenabled()
        gc.disable()
    _pausing += 1
    try:
        yield
    finally:
        _pausing -= 1
        if _pausing == 0 and _enabled_before:
            gc.enable()


def pausing_collection(
    handler: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """A batch handler that runs with the collector paused (`collection_paused`)."""

    @functools.wraps(handler)
    async def paused(*args: P.args, **kwargs: P.kwargs) -> T:
        with collection_paused():
            return await handler(*args, **kwargs)

    return paused
