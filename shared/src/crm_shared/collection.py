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

import gc

# Young generation: net allocations between collections (default 700); the older two: young
# collections per middle one (default 10) and middle ones per full one (default 10).
THROUGHPUT_THRESHOLDS = (50_000, 20, 10)


def collect_for_throughput() -> None:
    """Set this process's collector to the thresholds above (once, at process start)."""
    gc.set_threshold(*THROUGHPUT_THRESHOLDS)
