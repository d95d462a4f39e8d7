"""An opt-in profile of a whole service run, for finding where a benchmark's time goes.

With `CRM_PROFILE_DIR` set, a service runs under cProfile and writes `<dir>/<service>.prof` when it
stops (read it with `python -m pstats`). The event loop, the handlers and the consumers all run
on the main thread, which is what cProfile sees; SQLite's own thread is not in it.
With `CRM_PROFILE_CLOCK=cpu` it counts the main thread's CPU time instead of wall time, so time
spent waiting for the GIL (a socket write or a queue put while SQLite's thread holds it) is not
charged to the call that waited.
"""

from __future__ import annotations

import cProfile
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

PROFILE_DIR_VARIABLE = "CRM_PROFILE_DIR"
PROFILE_CLOCK_VARIABLE = "CRM_PROFILE_CLOCK"


@contextmanager
def profiled(service: str) -> Iterator[None]:
    """Profile the block when CRM_PROFILE_DIR names a folder; otherwise do nothing."""
    folder = os.environ.get(PROFILE_DIR_VARIABLE)
    if not folder:
        yield
        return
    if os.environ.get(PROFILE_CLOCK_VARIABLE) == "cpu":
        profile = cProfile.Profile(time.thread_time)
    else:
        profile = cProfile.Profile()
    path = Path(folder) / f"{service}.prof"

    def dump() -> None:
        profile.disable()
        path.parent.mkdir(parents=True, exist_ok=True)
        profile.dump_stats(path)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        # uvicorn stops on SIGTERM and then raises it again with the previous handler (this
        # one) in place: the default one would end the process before the `finally` below.
        dump()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    profile.enable()
    try:
        yield
    finally:
        dump()
