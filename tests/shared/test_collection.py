"""A service process collects garbage at the throughput thresholds, not Python's default."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from crm_shared.collection import THROUGHPUT_THRESHOLDS, collect_for_throughput


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
