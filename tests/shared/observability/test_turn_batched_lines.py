"""Lines logged in one event-loop turn leave in one write; none waits past its turn or a warning."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections.abc import Iterator

import pytest

from crm_shared.observability.logs import TurnBatchedStreamHandler


class CountingStream(io.StringIO):
    """A stream that keeps each write apart."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, CountingStream, TurnBatchedStreamHandler]]:
    stream = CountingStream()
    handler = TurnBatchedStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test.turn_batched")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, stream, handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


async def test_lines_of_one_turn_leave_together_when_the_turn_ends(
    logged: tuple[logging.Logger, CountingStream, TurnBatchedStreamHandler],
) -> None:
    logger, stream, _ = logged
    logger.info("one")
    logger.info("two")
    assert stream.writes == []  # still the turn that logged them
    await asyncio.sleep(0)
    assert stream.writes == ["one\ntwo\n"]
    logger.info("three")
    await asyncio.sleep(0)
    assert stream.writes == ["one\ntwo\n", "three\n"]


async def test_a_warning_writes_at_once_after_the_lines_waiting(
    logged: tuple[logging.Logger, CountingStream, TurnBatchedStreamHandler],
) -> None:
    logger, stream, _ = logged
    logger.info("request")
    logger.warning("trouble")
    assert stream.getvalue() == "request\ntrouble\n"
    await asyncio.sleep(0)
    assert stream.getvalue() == "request\ntrouble\n"  # nothing written twice


def test_a_line_off_any_loop_is_written_at_once(
    logged: tuple[logging.Logger, CountingStream, TurnBatchedStreamHandler],
) -> None:
    logger, stream, _ = logged
    logger.info("plain")
    assert stream.writes == ["plain\n"]


async def test_a_line_from_another_thread_follows_those_waiting(
    logged: tuple[logging.Logger, CountingStream, TurnBatchedStreamHandler],
) -> None:
    logger, stream, _ = logged
    logger.info("on the loop")
    thread = threading.Thread(target=logger.info, args=("from a thread",))
    thread.start()
    thread.join()
    assert stream.getvalue() == "on the loop\nfrom a thread\n"


def test_flush_writes_the_lines_of_a_loop_that_ended_before_its_turn_did(
    logged: tuple[logging.Logger, CountingStream, TurnBatchedStreamHandler],
) -> None:
    logger, stream, handler = logged
    loop = asyncio.new_event_loop()

    async def log_then_stop() -> None:
        logger.info("last words")
        loop.stop()

    task = loop.create_task(log_then_stop())
    loop.run_forever()  # stops in the turn that logged: the write is still scheduled
    assert task.done()
    loop.close()
    assert stream.getvalue() == ""
    handler.flush()  # what logging.shutdown() does at exit
    assert stream.getvalue() == "last words\n"
    # A later loop is scheduled afresh, though the closed one never ran its write.
    asyncio.run(_log_and_yield(logger, "next loop"))
    assert stream.getvalue() == "last words\nnext loop\n"


async def _log_and_yield(logger: logging.Logger, message: str) -> None:
    logger.info(message)
    await asyncio.sleep(0)
