"""Broker clients stop within a bounded wait, so a dead broker cannot hang a shutdown."""

from __future__ import annotations

import asyncio

from crm_shared.messaging.kafka import stop_within
from crm_shared.runtime import BackgroundTasks


async def test_a_stop_that_never_finishes_is_given_up_on() -> None:
    async def hangs() -> None:
        await asyncio.sleep(3600)

    started = asyncio.get_running_loop().time()
    await stop_within(hangs, what="test client", within=0.1)

    assert asyncio.get_running_loop().time() - started < 1.0


async def test_a_stop_that_ignores_its_cancellation_is_given_up_on_too() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    started = asyncio.get_running_loop().time()
    await stop_within(stubborn, what="test client", within=0.1)

    assert asyncio.get_running_loop().time() - started < 1.0
    release.set()


async def test_a_failing_stop_is_logged_not_raised() -> None:
    async def fails() -> None:
        raise ConnectionError("broker gone")

    await stop_within(fails, what="test client", within=0.1)


async def test_background_tasks_stop_within_their_bound() -> None:
    tasks = BackgroundTasks()

    async def cleans_up_forever() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.shield(asyncio.sleep(3600))

    tasks.start("stubborn", cleans_up_forever())
    await asyncio.sleep(0)
    started = asyncio.get_running_loop().time()
    await tasks.stop(within=0.1)

    assert asyncio.get_running_loop().time() - started < 1.0
