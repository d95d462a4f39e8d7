"""A service process collects garbage at the throughput thresholds, not Python's default."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from crm_shared.collection import (
    THROUGHPUT_THRESHOLDS,
    collect_for_throughput,
    collection_paused,
    pausing_collection,
)


@pytest.fixture
def restored_thresholds() -> Iterator[None]:
    """The test process's own thresholds, put back afterwards."""
    before = gc.get_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*before)


@pytest.mark.usefixtures("restored_thresholds")
def test_the_young_generation_is_collected_far_less_often_than_by_default() -> None:
    gc.set_threshold(700, 10, 10)
    collect_for_throughput()
    assert gc.get_threshold() == THROUGHPUT_THRESHOLDS
    assert THROUGHPUT_THRESHOLDS[0] >= 10_000


@pytest.mark.usefixtures("restored_thresholds")
def test_every_served_service_process_sets_them_before_serving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fastapi import FastAPI

    from crm_shared import service
    from crm_shared.settings import PlatformSettings

    seen: list[tuple[int, int, int]] = []
    monkeypatch.setattr(service.uvicorn, "run", lambda *a, **k: seen.append(gc.get_threshold()))
    monkeypatch.setattr(service, "configure_logging", lambda *a, **k: None)
    app = FastAPI()
    app.state.settings = PlatformSettings()
    gc.set_threshold(700, 10, 10)
    service.serve(app, service="timeline", host="127.0.0.1", port=1, log_level="warning")
    assert seen == [THROUGHPUT_THRESHOLDS]


@pytest.mark.usefixtures("collector_enabled")
def test_a_batch_runs_without_collections_and_the_collector_runs_again_after() -> None:
    with collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_enabled")
def test_the_collector_runs_again_when_the_batch_fails() -> None:
    with pytest.raises(RuntimeError), collection_paused():
        raise RuntimeError("the batch failed")
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_enabled")
def test_overlapping_batches_keep_it_paused_until_the_last_one_ends() -> None:
    async def batch(started: asyncio.Event, release: asyncio.Event) -> bool:
        with collection_paused():
            started.set()
            await release.wait()
            return gc.isenabled()

    async def overlap() -> tuple[bool, bool, bool]:
        first_started, second_started = asyncio.Event(), asyncio.Event()
        first_release, second_release = asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(batch(first_started, first_release))
        await first_started.wait()
        second = asyncio.create_task(batch(second_started, second_release))
        await second_started.wait()
        first_release.set()
        # The first batch ended while the second still runs.
        first_saw = await first
        while_second_runs = gc.isenabled()
        second_release.set()
        return first_saw, while_second_runs, await second

    assert asyncio.run(overlap()) == (False, False, False)
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        with collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


@pytest.mark.usefixtures("collector_enabled")
def test_a_paused_handler_awaits_with_the_collector_paused_and_returns_its_result() -> None:
    @pausing_collection
    async def handler(value: int) -> tuple[int, bool]:
        await asyncio.sleep(0)
        return value * 2, gc.isenabled()

    assert asyncio.run(handler(21)) == (42, False)
    assert gc.isenabled()
