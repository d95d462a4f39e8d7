"""Schemathesis against the four services' OpenAPI documents, on the running platform.

Each service runs as a real process on SQLite with the embedded broker; schemathesis generates
requests from the service's own document and checks every answer against that document. The run
must find no server error and no undocumented status, content type or header.

Phases: examples, coverage (the deterministic boundary and negative values of every parameter and
property, missing headers, unexpected methods: what found every past finding) and stateful (links
inferred from the responses: use-after-free, resource availability). Fuzzing is left out: its
random cases re-checked what coverage had already covered and cost a tenth of the run.

Reproducible and bounded: generation is derandomized (`--generation-deterministic`), each
operation gets at most `MAX_EXAMPLES` cases in the stateful phase, and the four services are
tested at once (one process each, so the two cores both work while a service answers). Each
runs with one worker: with two, schemathesis's threads parse code at the same moment and CPython
3.11.7's AST recursion counter, shared between threads (CPython gh-106905), once failed a CI run
with "AST constructor recursion depth mismatch" inside schemathesis, not in a service.

In `make test` (not only in CI's fault run): a new route's undocumented answer fails where its
author runs the tests. It prints each service's wall time and the CPU seconds of the run.

Every check is on except `positive_data_acceptance`, which expects every schema-valid request to
succeed: rules a schema cannot state (a contact merged with itself, a system tag, a cursor this
API did not issue, an Idempotency-Key reused for another body) answer a documented 4xx there.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN_KEY
from tests.e2e.conftest import RunningPlatform, start_platform

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

ALL_SERVICES = ("contacts", "timeline", "importer", "gdpr")
# CRM_SCHEMATHESIS_SERVICES=contacts (comma-separated) runs some alone, e.g. to time them.
SERVICES = tuple(
    name
    for name in os.environ.get("CRM_SCHEMATHESIS_SERVICES", ",".join(ALL_SERVICES)).split(",")
    if name in ALL_SERVICES
)
MAX_EXAMPLES = 5
RUN_SECONDS = 600
# The tests' 10 ms fetch wait has each idle consumer group poll the broker 100 times a second:
# idle, the four services and the broker then took 0.74 of a core (0.12 with 500 ms), most of
# this run's CPU. Nothing here waits on a consumer by the millisecond, so Kafka's default is used.
QUIET_CONSUMERS = {"KAFKA_FETCH_MAX_WAIT_MS": "500"}
PHASES = "examples,coverage,stateful"
EXCLUDED_CHECKS = "positive_data_acceptance"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningPlatform]:
    """The four services (no console) and the broker, given time to start on a busy machine."""
    before = _children_cpu_seconds()
    stack = start_platform(tmp_path, SERVICES, ready_seconds=120, env=QUIET_CONSUMERS)
    try:
        yield stack
    finally:
        stack.platform.stop()
        stack.broker.stop()
        # The services' and the broker's share too (start-up included), once they have exited.
        print(f"schemathesis: {_children_cpu_seconds() - before:.0f} CPU seconds with the platform")


def _schemathesis(stack: RunningPlatform, service: str, report: Path) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{stack.url(service)}/openapi.json",
        "--header",
        f"Authorization: Bearer {ADMIN_KEY}",
        "--checks",
        "all",
        "--exclude-checks",
        EXCLUDED_CHECKS,
        "--phases",
        PHASES,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    return subprocess.Popen(
        command,
        stdout=report.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
        cwd=report.parent,
    )


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wait_for(runs: dict[str, subprocess.Popen[str]], reports: dict[str, Path]) -> dict[str, str]:
    """Each run's failure report (its output's tail), by service; {} when all passed."""
    failed: dict[str, str] = {}
    started = time.monotonic()
    waiting = dict(runs)
    while waiting and time.monotonic() < started + RUN_SECONDS:
        for service, run in list(waiting.items()):
            code = run.poll()
            if code is None:
                continue
            # Polled together, so each figure is that service's own wall time.
            print(f"schemathesis {service}: finished after {time.monotonic() - started:.0f}s")
            del waiting[service]
            if code != 0:
                failed[service] = reports[service].read_text()[-12_000:]
        time.sleep(0.5)
    for service in waiting:
        failed[service] = f"did not finish within {RUN_SECONDS}s"
    return failed


def test_schemathesis_finds_no_server_error_and_nothing_undocumented(
    running: RunningPlatform, tmp_path: Path
) -> None:
    reports = {service: tmp_path / f"schemathesis-{service}.txt" for service in SERVICES}
    before = _children_cpu_seconds()
    runs = {service: _schemathesis(running, service, reports[service]) for service in SERVICES}
    try:
        failed = _wait_for(runs, reports)
    finally:
        for run in runs.values():  # none may outlive the test, whatever failed
            if run.poll() is None:
                run.kill()
                run.wait()
    # CPU time says what the run costs whatever else the machine does (wall time does not).
    print(f"schemathesis: {_children_cpu_seconds() - before:.0f} CPU seconds of its clients")
    assert not failed, "\n\n".join(f"== {name} ==\n{text}" for name, text in failed.items())
    unhandled = [
        line for line in running.log_path.read_text().splitlines() if "unhandled error" in line
    ]
    assert not unhandled, unhandled[:5]
