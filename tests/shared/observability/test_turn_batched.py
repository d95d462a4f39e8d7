"""Log lines made on an event loop are written once per turn of it; elsewhere at once."""

from __future__ import annotations

import asyncio
import io
import logging
import threading

import pytest

from crm_shared.observability.turn_batched import KEPT_LINES, TurnBatchedStreamHandler


class _CountingStream(io.StringIO):
    """A stream that counts its writes (what a system call per line would cost)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def _logger(stream: _CountingStream) -> tuple[logging.Logger, TurnBatchedStreamHandler]:
    handler = TurnBatchedStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger(f"test.turn_batched.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, handler


def test_lines_of_one_turn_are_written_together_at_its_end() -> None:
    stream = _CountingStream()
    logger, _ = _logger(stream)

    async def turn() -> str:
        for n in range(3):
            logger.info("line %d", n)
        during = stream.getvalue()
        await asyncio.sleep(0)  # the turn ends: the kept lines are written
        await asyncio.sleep(0)
        return during

    during = asyncio.run(turn())
    assert during == ""
    assert stream.getvalue() == "line 0\nline 1\nline 2\n"
    assert stream.writes == 1


def test_a_line_off_the_loop_is_written_at_once() -> None:
    stream = _CountingStream()
    logger, _ = _logger(stream)
    logger.info("no loop here")
    assert stream.getvalue() == "no loop here\n"


def test_a_line_from_another_thread_follows_the_kept_lines_at_once() -> None:
    stream = _CountingStream()
    logger, _ = _logger(stream)

    async def turn() -> str:
        logger.info("on the loop")
        worker = threading.Thread(target=logger.info, args=("from a thread",))
        worker.start()
        worker.join()
        return stream.getvalue()

    assert asyncio.run(turn()) == "on the loop\nfrom a thread\n"


def test_a_turn_that_logs_more_than_the_kept_lines_writes_the_rest_as_they_come() -> None:
    stream = _CountingStream()
    logger, _ = _logger(stream)

    async def turn() -> int:
        for n in range(KEPT_LINES + 5):
            logger.info("%d", n)
        return stream.getvalue().count("\n")

    written_during_the_turn = asyncio.run(turn())
    assert written_during_the_turn >= 6
    assert stream.getvalue().splitlines() == [str(n) for n in range(KEPT_LINES + 5)]


def test_flush_writes_kept_lines_of_a_loop_that_stopped_before_its_turn_ended() -> None:
    stream = _CountingStream()
    logger, handler = _logger(stream)
    loop = asyncio.new_event_loop()

    async def last_words() -> None:
        logger.info("shutting down")

    loop.run_until_complete(last_words())
    loop.close()  # the turn's write may never run now
    handler.flush()  # what logging.shutdown() does at exit
    assert stream.getvalue() == "shutting down\n"


def test_a_flush_at_exit_on_a_closed_stream_raises_as_stream_handlers_does() -> None:
    # logging.shutdown() ignores OSError and ValueError from a handler's flush: a test run's
    # closed capture stream must not print a "Logging error" at exit.
    stream = io.TextIOWrapper(io.BytesIO())  # as sys.stderr is
    handler = TurnBatchedStreamHandler(stream)
    stream.close()
    with pytest.raises(ValueError, match="closed file"):
        handler.flush()
