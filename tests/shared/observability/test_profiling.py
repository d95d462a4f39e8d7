"""The opt-in service profile: written only when asked, on the clock asked for."""

from __future__ import annotations

import pstats
import time
from pathlib import Path

import pytest

from crm_shared.observability.profiling import profiled


def _waits() -> None:
    time.sleep(0.2)


def _seconds_in_waits(path: Path) -> float:
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    return float(next(v[3] for k, v in stats.items() if k[2] == "_waits"))  # cumulative time


def test_without_a_folder_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRM_PROFILE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    with profiled("contacts"):
        _waits()
    assert list(tmp_path.iterdir()) == []


def test_wall_clock_charges_a_wait_to_the_call_that_waited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_PROFILE_DIR", str(tmp_path))
    monkeypatch.delenv("CRM_PROFILE_CLOCK", raising=False)
    with profiled("contacts"):
        _waits()
    assert _seconds_in_waits(tmp_path / "contacts.prof") >= 0.19


def test_cpu_clock_does_not_charge_a_wait(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_PROFILE_DIR", str(tmp_path))
    monkeypatch.setenv("CRM_PROFILE_CLOCK", "cpu")
    with profiled("contacts"):
        _waits()
    assert _seconds_in_waits(tmp_path / "contacts.prof") < 0.05
