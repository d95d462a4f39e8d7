"""Log lines written once per turn of the event loop rather than once per line.

A served GET wrote its access line to stderr on its own: a write system call per request (and,
behind a pipe, a wake-up of whoever reads it). Lines made on an event loop's thread are kept
until the end of the loop's current turn and written together, a turn serving many requests
under load; a line from any other thread is written at once (after what is kept, so the order
holds). A crash loses at most the lines of the turn it interrupted; an orderly exit writes them
(logging.shutdown flushes every handler).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TextIO

# At most this many lines wait for the turn's end: a turn that logs more writes them as they come.
KEPT_LINES = 256


class TurnBatchedStreamHandler(logging.StreamHandler[TextIO]):
    """A stream handler that writes a loop turn's lines with one write."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._kept: list[str] = []
        # The loop whose turn will write the kept lines (None: nothing is waiting for one).
        self._flushing_on: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the line for the end of the loop's turn, or write it at once off a loop."""
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        self._keep(line, record)

    def write_line(self, line: str) -> None:
        """Write a line already formatted (no terminator) as `emit` writes a record's."""
        self.acquire()
        try:
            self._keep(line + self.terminator, None)
        finally:
            self.release()

    def _keep(self, line: str, record: logging.LogRecord | None) -> None:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        # Handler.handle holds self.lock here.
        if loop is not None and self._flushing_on in (None, loop) and len(self._kept) < KEPT_LINES:
            self._kept.append(line)
            if self._flushing_on is None:
                self._flushing_on = loop
                loop.call_soon(self._end_of_turn)
            return
        self._kept.append(line)
        try:
            self._write_kept()
        except Exception:
            # As StreamHandler does for a line it cannot write.
            self.handleError(record or logging.makeLogRecord({"msg": "log line lost"}))

    def flush(self) -> None:
        """Write the kept lines, then flush the stream (raising as StreamHandler.flush does)."""
        self.acquire()
        try:
            self._write_kept()
        finally:
            self.release()

    def _end_of_turn(self) -> None:
        self.acquire()
        try:
            self._write_kept()
        except Exception:
            # Never into the loop's exception handler (which logs): reported as a lost line is.
            self.handleError(logging.makeLogRecord({"msg": "log lines lost"}))
        finally:
            self.release()

    def _write_kept(self) -> None:
        self._flushing_on = None
        kept, self._kept = self._kept, []
        if kept:
            self.stream.write("".join(kept))
        if hasattr(self.stream, "flush"):
            self.stream.flush()
