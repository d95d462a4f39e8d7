"""`make run` in the background of a script stops on SIGINT as well as SIGTERM, children included.

A process started in the background by a non-interactive shell inherits SIGINT as ignored; the
test starts the launcher that way (SIGINT ignored before exec) and checks it still stops.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crm_shared.devstack import SERVICES, free_port
from tests.conftest import TEST_API_KEYS

pytestmark = pytest.mark.e2e

START_SECONDS = 90.0
STOP_SECONDS = 30.0
READY_LINE = "CRM platform is up"


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _children(pid: int) -> set[int]:
    """The direct children of a process (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(child) for child in text)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            pytest.fail(f"launcher exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    pytest.fail(f"{text!r} not printed within {START_SECONDS}s:\n{log.read_text()[-3000:]}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_launcher_started_with_sigint_ignored_stops_everything_on_a_signal(
    tmp_path: Path, signum: signal.Signals
) -> None:
    env = dict(os.environ, CRM_API_KEYS=TEST_API_KEYS, CRM_ENV="test", PYTHONUNBUFFERED="1")
    env.update({f"{name.upper()}_PORT": str(free_port()) for name, _ in SERVICES})
    log = tmp_path / "launcher.log"
    with log.open("wb") as out:
        launcher = subprocess.Popen(
            [
                *(sys.executable, "-m", "crm_shared.devstack"),
                *("--data-dir", str(tmp_path / "data"), "--broker-port", str(free_port())),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_ignore_sigint,  # what `make run &` in a script does to the launcher
        )
    children: set[int] = set()
    try:
        _wait_for_line(log, READY_LINE, launcher)
        children = _children(launcher.pid)
        assert len(children) == len(SERVICES) + 1, "the broker and every service run"

        launcher.send_signal(signum)
        launcher.wait(STOP_SECONDS)

        assert launcher.returncode == 0, log.read_text()[-3000:]
        assert [pid for pid in children if _alive(pid)] == []
        assert "stopping..." in log.read_text()
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        for pid in children:  # never leave the platform running when the launcher failed
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
