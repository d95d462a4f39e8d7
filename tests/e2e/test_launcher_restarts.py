"""`make run` supervises: a service killed with SIGKILL comes back, and the restart is logged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from crm_shared.devstack import SERVICES, free_port
from tests.conftest import TEST_API_KEYS

pytestmark = pytest.mark.e2e

START_SECONDS = 90.0
STOP_SECONDS = 30.0


def _cmdline(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("latin-1")
    except FileNotFoundError:
        return None


def _children(pid: int) -> dict[int, str]:
    """The direct children of a process and their command lines (Linux /proc)."""
    found: dict[int, str] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found[int(child)] = _cmdline(int(child)) or ""
    return found


def _wait(what: str, done: object, log: Path, launcher: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if callable(done) and done():
            return
        if launcher.poll() is not None:
            pytest.fail(f"launcher exited with {launcher.returncode}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    pytest.fail(f"{what} not seen within {START_SECONDS}s:\n{log.read_text()[-3000:]}")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_a_killed_service_is_restarted_and_a_clean_stop_restarts_nothing(tmp_path: Path) -> None:
    ports = {name: free_port() for name, _ in SERVICES}
    env = dict(os.environ, CRM_API_KEYS=TEST_API_KEYS, CRM_ENV="test", PYTHONUNBUFFERED="1")
    env.update({f"{name.upper()}_PORT": str(port) for name, port in ports.items()})
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
        )
    seen: dict[int, str] = {}
    try:
        _wait("the banner", lambda: "CRM platform is up" in log.read_text(), log, launcher)
        children = _children(launcher.pid)
        seen.update(children)
        [contacts] = [pid for pid, cmd in children.items() if "crm_contacts" in cmd]

        os.kill(contacts, signal.SIGKILL)
        _wait("the restart", lambda: "contacts restarted" in log.read_text(), log, launcher)
        contacts_url = f"http://127.0.0.1:{ports['contacts']}"
        _wait("contacts healthy again", lambda: _healthy(contacts_url), log, launcher)

        text = log.read_text()
        assert "contacts exited unexpectedly (killed by signal SIGKILL)" in text
        seen.update(_children(launcher.pid))
        assert contacts not in _children(launcher.pid)

        launcher.send_signal(signal.SIGTERM)
        launcher.wait(STOP_SECONDS)
        assert launcher.returncode == 0
        after_stop = log.read_text().split("stopping...", 1)[1]
        assert "restarted" not in after_stop and "exited unexpectedly" not in after_stop
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        for pid, cmdline in seen.items():  # never leave the platform running after a failure
            if cmdline and _cmdline(pid) == cmdline:  # still ours, not a recycled pid
                os.kill(pid, signal.SIGKILL)
