"""Where a consumed event's time goes: per-stage wall-clock stamps, written only when asked for.

With `CRM_STAGE_LOG=<file>` each consumer poll writes one JSON line: the ids of the events it
handled together, when the poll returned, when its transaction asked for the store's writer,
got it and committed, and when the offsets were committed; the outbox relay writes one line per
batch (read, acknowledged by the broker, marked sent). The latency bench joins them with its
own send times to say which stage a slow event waited in. Unset (the default), every call here
is a check of one global: nothing is written and nothing is timed.

Only ids and times are written: no payload, no personal data.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import IO, Any

import orjson

STAGE_LOG_VARIABLE = "CRM_STAGE_LOG"

_current: ContextVar[dict[str, Any] | None] = ContextVar("crm_stage_record", default=None)


class StageLog:
    """Appends one JSON object per line to a file; each line is written whole."""

    def __init__(self, path: str) -> None:
        self._file: IO[bytes] = open(path, "ab", buffering=0)  # noqa: SIM115 (lives with the process)

    def write(self, record: dict[str, Any]) -> None:
        """Append one record."""
        self._file.write(orjson.dumps(record) + b"\n")


def _from_environment() -> StageLog | None:
    path = os.environ.get(STAGE_LOG_VARIABLE, "").strip()
    return StageLog(path) if path else None


_log: StageLog | None = _from_environment()


def enabled() -> bool:
    """Whether stages are being recorded in this process."""
    return _log is not None


def use(log: StageLog | None) -> None:
    """Record into `log` from now on (None: stop); the environment decides at import."""
    global _log
    _log = log


@contextlib.contextmanager
def poll(polled_at: float) -> Iterator[None]:
    """One consumer poll's record: stages noted while it is open land in it; written at the end
    when it handled events (`handled`)."""
    if _log is None:
        yield
        return
    record: dict[str, Any] = {"kind": "poll", "polled": polled_at}
    token = _current.set(record)
    try:
        yield
    finally:
        _current.reset(token)
        if "ids" in record:
            _log.write(record)


def handled(event_ids: list[str]) -> None:
    """Name the events the open poll handles together."""
    record = _current.get()
    if record is not None:
        record.setdefault("ids", []).extend(event_ids)


def note(stage: str, *, first: bool = False) -> None:
    """Stamp `stage` now on the open poll's record (the first stamp only, with `first`)."""
    record = _current.get()
    if record is None:
        return
    if first and stage in record:
        return
    record[stage] = time.time()


def write(record: dict[str, Any]) -> None:
    """Write a record of its own (the relay's batches)."""
    if _log is not None:
        _log.write(record)
