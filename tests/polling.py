"""Waiting in tests, always with a deadline: poll until a condition holds, or bound one await.

A test that waits on the broker or a background loop must fail with a message that says what it
waited for, never hang: `eventually` bounds every call of the check too (an HTTP request or a Kafka
fetch that never answers), and `bounded` / `stop_client` bound a single await (a client's start or
stop, a consumer's join).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from fastapi import FastAPI

T = TypeVar("T")

WAIT_SECONDS = 20.0
POLL_INTERVAL = 0.05
CLIENT_STOP_SECONDS = 10.0


class _Stoppable(Protocol):
    async def stop(self) -> Any: ...


def _truthy(value: object) -> bool:
    return bool(value)


async def eventually(
    check: Callable[[], Awaitable[T]] | Callable[[], T],
    until: Callable[[T], bool] = _truthy,
    *,
    within: float = WAIT_SECONDS,
    interval: float = POLL_INTERVAL,
    what: str = "condition",
) -> T:
    """Call `check` (sync or async) until `until(value)` holds and return that value.

    Fails with the last value seen after `within` seconds, counting the time `check` itself takes.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last: object = "<check never returned>"
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"{what} not met within {within}s; last value: {last!r}")
        try:
            async with asyncio.timeout(remaining):
                result = check()
                value: T = await result if inspect.isawaitable(result) else result  # type: ignore[assignment]
        except TimeoutError:
            raise AssertionError(
                f"{what} not met within {within}s: the check itself did not return in time; "
                f"last value: {last!r}"
            ) from None
        if until(value):
            return value
        last = value
        await asyncio.sleep(min(interval, max(deadline - loop.time(), 0)))


async def bounded(awaitable: Awaitable[T], *, seconds: float, what: str) -> T:
    """Await one thing for at most `seconds`; fail with `what` instead of hanging."""
    try:
        async with asyncio.timeout(seconds):
            return await awaitable
    except TimeoutError:
        raise AssertionError(f"{what} did not finish within {seconds}s") from None


async def stop_client(client: _Stoppable, *, seconds: float = CLIENT_STOP_SECONDS) -> None:
    """Stop a Kafka client a test started (consumer, producer, admin) with a bounded wait."""
    await bounded(client.stop(), seconds=seconds, what=f"stopping {type(client).__name__}")


APP_START_SECONDS = 30.0
APP_STOP_SECONDS = 30.0


@asynccontextmanager
async def app_lifespan(app: FastAPI) -> AsyncIterator[FastAPI]:
    """Run an app's lifespan (start-up, then shutdown) with both ends bounded in time."""
    lifespan = app.router.lifespan_context(app)
    await bounded(lifespan.__aenter__(), seconds=APP_START_SECONDS, what=f"{app.title} start-up")
    try:
        yield app
    finally:
        await bounded(
            lifespan.__aexit__(None, None, None),
            seconds=APP_STOP_SECONDS,
            what=f"{app.title} shutdown",
        )


async def cancel_and_wait(task: asyncio.Task[Any], *, seconds: float = CLIENT_STOP_SECONDS) -> None:
    """Cancel a background loop a test started and wait, within a bound, for its cleanup."""
    task.cancel()
    await bounded(
        asyncio.gather(task, return_exceptions=True),
        seconds=seconds,
        what=f"cancelling task {task.get_name()}",
    )
