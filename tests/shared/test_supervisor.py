"""The launcher's supervisor restarts a crashed service with backoff and logs its exit status."""

from __future__ import annotations

import asyncio
import io
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from crm_shared.supervisor import Backoff, Supervisor, describe_exit
from tests.polling import eventually

FAST = Backoff(initial=0.05, maximum=0.2, stable_after=60.0)


@dataclass
class FakeService:
    """A process that sleeps, standing in for a service."""

    name: str
    exit_code: int | None = None  # exits at once with this code instead of sleeping
    process: subprocess.Popen[str] | None = None
    pids: list[int] = field(default_factory=list)

    def start(self) -> None:
        code = (
            "import time; time.sleep(60)" if self.exit_code is None else f"exit({self.exit_code})"
        )
        self.process = subprocess.Popen([sys.executable, "-c", code], text=True)
        self.pids.append(self.process.pid)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def services() -> Iterator[dict[str, FakeService]]:
    started = {"contacts": FakeService("contacts"), "timeline": FakeService("timeline")}
    for service in started.values():
        service.start()
    yield started
    for service in started.values():
        service.stop()


async def test_a_killed_service_is_restarted_and_the_signal_logged(
    services: dict[str, FakeService],
) -> None:
    log = io.StringIO()
    supervisor = Supervisor(services, log=log, backoff=FAST, poll_seconds=0.02)
    supervisor.start()
    try:
        first = services["contacts"].process
        assert first is not None
        first.send_signal(signal.SIGKILL)
        await eventually(lambda: supervisor.restarts("contacts"), lambda n: n == 1, within=10)
        assert services["contacts"].process is not first
        assert services["contacts"].process is not None
        assert services["contacts"].process.poll() is None
        assert "contacts exited unexpectedly (killed by signal SIGKILL)" in log.getvalue()
        assert "contacts restarted (restart 1, pid " in log.getvalue()
        assert supervisor.restarts("timeline") == 0
    finally:
        supervisor.stop()


class SlowStartingService(FakeService):
    """A service whose start takes a while before its new process is known (a loaded machine)."""

    def start(self) -> None:
        if self.pids:
            time.sleep(0.3)
        super().start()


async def test_a_restart_is_counted_only_once_its_new_process_runs_and_is_reported() -> None:
    slow = SlowStartingService("contacts")
    slow.start()
    log = io.StringIO()
    supervisor = Supervisor({"contacts": slow}, log=log, backoff=FAST, poll_seconds=0.01)
    supervisor.start()
    try:
        first = slow.process
        assert first is not None
        first.send_signal(signal.SIGKILL)
        await eventually(lambda: supervisor.restarts("contacts"), lambda n: n == 1, within=10)
        assert slow.process is not first and slow.process is not None
        assert "contacts restarted (restart 1, pid " in log.getvalue()
    finally:
        supervisor.stop()
        slow.stop()


async def test_a_service_that_keeps_dying_waits_longer_each_time(
    services: dict[str, FakeService],
) -> None:
    crashing = FakeService("contacts", exit_code=3)
    crashing.start()
    log = io.StringIO()
    supervisor = Supervisor({"contacts": crashing}, log=log, backoff=FAST, poll_seconds=0.01)
    supervisor.start()
    try:
        await eventually(lambda: supervisor.restarts("contacts"), lambda n: n >= 4, within=10)
    finally:
        supervisor.stop()
    lines = [line for line in log.getvalue().splitlines() if "exited unexpectedly" in line]
    assert "(exit status 3); restarting in 0.05s" in lines[0]
    assert "restarting in 0.1s" in lines[1]
    assert "restarting in 0.2s" in lines[2]
    assert "restarting in 0.2s" in lines[3]  # capped at the maximum


async def test_a_service_that_ran_a_stable_while_starts_again_at_the_initial_delay() -> None:
    crashing = FakeService("contacts", exit_code=3)
    crashing.start()
    log = io.StringIO()
    stable_at_once = Backoff(initial=0.05, maximum=0.2, stable_after=0.0)
    supervisor = Supervisor({"contacts": crashing}, log=log, backoff=stable_at_once)
    supervisor.start()
    try:
        await eventually(lambda: supervisor.restarts("contacts"), lambda n: n >= 3, within=10)
    finally:
        supervisor.stop()
    lines = [line for line in log.getvalue().splitlines() if "exited unexpectedly" in line]
    assert all("restarting in 0.05s" in line for line in lines), lines


async def test_a_clean_stop_restarts_nothing(services: dict[str, FakeService]) -> None:
    log = io.StringIO()
    supervisor = Supervisor(services, log=log, backoff=FAST, poll_seconds=0.02)
    supervisor.start()
    supervisor.stop()
    for service in services.values():
        service.stop()
    await asyncio.sleep(0.3)  # give a stray restart the chance to show
    assert [s.pids for s in services.values()] == [[s.pids[0]] for s in services.values()]
    assert log.getvalue() == ""


def test_exit_descriptions() -> None:
    assert describe_exit(1) == "exit status 1"
    assert describe_exit(-signal.SIGKILL) == "killed by signal SIGKILL"
    assert describe_exit(-signal.SIGSEGV) == "killed by signal SIGSEGV"
