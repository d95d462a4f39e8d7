"""Per-stage stamps of a consumer's polls, written only when a stage log is in use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from crm_shared.observability import stages
from crm_shared.observability.store_timing import TimedStore
from crm_shared.storage.memory import MemoryStore


@pytest.fixture
def stage_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "stages.jsonl"
    stages.use(stages.StageLog(str(path)))
    yield path
    stages.use(None)


def _lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


async def test_a_poll_that_handled_events_writes_its_stages_in_order(stage_file: Path) -> None:
    store = TimedStore(MemoryStore())
    await store.start([])
    with stages.poll(1.0):
        stages.handled(["event-1", "event-2"])
        async with store.transaction():
            pass
        stages.note("offsets_committed")
    with stages.poll(2.0):
        pass  # an empty poll writes nothing

    [line] = _lines(stage_file)
    assert line["ids"] == ["event-1", "event-2"]
    assert line["polled"] == 1.0
    stamps = [line[k] for k in ("tx_wait", "tx_locked", "tx_committed", "offsets_committed")]
    assert all(isinstance(s, float) for s in stamps)
    assert stamps == sorted(stamps)


def test_without_a_stage_log_nothing_is_recorded(tmp_path: Path) -> None:
    stages.use(None)
    with stages.poll(1.0):
        stages.handled(["event-1"])
        stages.note("tx_wait")
    stages.write({"kind": "relay"})
    assert not stages.enabled()
    assert list(tmp_path.iterdir()) == []
