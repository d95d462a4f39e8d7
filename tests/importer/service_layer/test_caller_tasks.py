"""The one runner exports and dry runs share: tasks tracked until they end, cancelled on stop."""

from __future__ import annotations

import asyncio

from crm_importer.service_layer.caller_tasks import CallerTasks


async def test_wait_idle_returns_once_every_task_ended_and_reports_each_end() -> None:
    ended: list[str] = []
    finished = 0

    def count() -> None:
        nonlocal finished
        finished += 1

    tasks = CallerTasks(on_finished=count)

    async def work(name: str) -> None:
        await asyncio.sleep(0.01)
        ended.append(name)

    tasks.start(work("a"), name="a")
    tasks.start(work("b"), name="b")
    assert tasks.running == 2
    await tasks.wait_idle()
    assert sorted(ended) == ["a", "b"]
    assert finished == 2
    assert tasks.running == 0


async def test_a_failing_task_does_not_stop_the_others_or_the_wait() -> None:
    tasks = CallerTasks()
    ended: list[str] = []

    async def fail() -> None:
        raise RuntimeError("boom")

    async def work() -> None:
        await asyncio.sleep(0.01)
        ended.append("ok")

    tasks.start(fail(), name="fail")
    tasks.start(work(), name="ok")
    await tasks.wait_idle()
    assert ended == ["ok"]
    assert tasks.running == 0


async def test_stop_cancels_the_running_tasks() -> None:
    tasks = CallerTasks()
    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    tasks.start(forever(), name="forever")
    await asyncio.sleep(0)
    await tasks.stop()
    assert cancelled.is_set()
    assert tasks.running == 0
