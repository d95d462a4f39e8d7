"""Schemathesis against the four services' OpenAPI documents, on the running platform.

Each service runs as a real process on SQLite with the embedded broker; schemathesis generates
requests from the service's own document (examples, coverage, fuzzing and stateful phases, with
links inferred from the responses) and checks every answer against that document. The run must
find no server error and no undocumented status, content type or header.

Reproducible and bounded: generation is derandomized (`--generation-deterministic`), each
operation gets at most `MAX_EXAMPLES` cases, and the four services are tested at once.

Every check is on except `positive_data_acceptance`, which expects every schema-valid request to
succeed: rules a schema cannot state (a contact merged with itself, a system tag, a cursor this
API did not issue, an Idempotency-Key reused for another body) answer a documented 4xx there.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN_KEY
from tests.e2e.conftest import RunningPlatform, start_platform

# Long (minutes) and still finding things in the merged main: run with `make test-faults`.
pytestmark = [pytest.mark.e2e, pytest.mark.faults, pytest.mark.timeout(900)]

SERVICES = ("contacts", "timeline", "importer", "gdpr")
MAX_EXAMPLES = 5
RUN_SECONDS = 480
EXCLUDED_CHECKS = "positive_data_acceptance"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningPlatform]:
    """The four services (no console) and the broker, given time to start on a busy machine."""
    stack = start_platform(tmp_path, SERVICES, ready_seconds=120)
    try:
        yield stack
    finally:
        stack.platform.stop()
        stack.broker.stop()


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


def test_schemathesis_finds_no_server_error_and_nothing_undocumented(
    running: RunningPlatform, tmp_path: Path
) -> None:
    reports = {service: tmp_path / f"schemathesis-{service}.txt" for service in SERVICES}
    runs = {service: _schemathesis(running, service, reports[service]) for service in SERVICES}
    failed: dict[str, str] = {}
    for service, run in runs.items():
        try:
            code = run.wait(timeout=RUN_SECONDS)
        except subprocess.TimeoutExpired:
            run.kill()
            code = run.wait()
            failed[service] = f"did not finish within {RUN_SECONDS}s"
            continue
        if code != 0:
            failed[service] = reports[service].read_text()[-12_000:]
    assert not failed, "\n\n".join(f"== {name} ==\n{text}" for name, text in failed.items())
    unhandled = [
        line for line in running.log_path.read_text().splitlines() if "unhandled error" in line
    ]
    assert not unhandled, unhandled[:5]
