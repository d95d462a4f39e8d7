"""Keeps `make run`'s services up: a service that exits unexpectedly is restarted with backoff.

Each restart is logged with the exit status (and the signal, when one killed the process). The
delay starts at 0.5 s and doubles up to 10 s while a service keeps dying; once a service has run
for a stable minute, its next crash starts again at 0.5 s. A clean shutdown (the launcher's
`stop()`) ends supervision before the services are stopped, so stopping them restarts nothing.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Protocol


class Supervised(Protocol):
    """What the supervisor needs of a service process (`devstack.ServiceProcess`)."""

    name: str
    process: subprocess.Popen[str] | None

    def start(self) -> None: ...


@dataclass(frozen=True)
class Backoff:
    """Restart delays: `initial` doubling up to `maximum`, reset after `stable_after` seconds."""

    initial: float = 0.5
    maximum: float = 10.0
    stable_after: float = 60.0


def describe_exit(returncode: int) -> str:
    """`exit status 1`, or `killed by signal SIGKILL` for a negative Popen return code."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"killed by signal {name}"
    return f"exit status {returncode}"


@dataclass
class _Watch:
    started_at: float
    delay: float
    restart_at: float | None = None
    restarts: int = 0


class Supervisor:
    """A thread that polls the services' processes and restarts the ones that died."""

    def __init__(
        self,
        services: Mapping[str, Supervised],
        *,
        log: IO[str],
        backoff: Backoff | None = None,
        poll_seconds: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._services = services
        self._log = log
        self._backoff = backoff or Backoff()
        self._poll = poll_seconds
        self._clock = clock
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._watches: dict[str, _Watch] = {}

    def start(self) -> None:
        """Start watching in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (a clean shutdown follows: exits from now on are expected)."""
        self._stopping.set()
        with self._lock:  # a restart in progress finishes before the services are stopped
            pass
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def restarts(self, name: str) -> int:
        """How many times a service was restarted."""
        watch = self._watches.get(name)
        return 0 if watch is None else watch.restarts

    def _run(self) -> None:
        while not self._stopping.wait(self._poll):
            with self._lock:
                if self._stopping.is_set():
                    return
                for name, service in list(self._services.items()):
                    self._check(name, service)

    def _check(self, name: str, service: Supervised) -> None:
        now = self._clock()
        watch = self._watches.setdefault(name, _Watch(now, self._backoff.initial))
        process = service.process
        if process is None:
            return
        returncode = process.poll()
        if returncode is None:
            return
        if watch.restart_at is None:
            if now - watch.started_at >= self._backoff.stable_after:
                watch.delay = self._backoff.initial
            watch.restart_at = now + watch.delay
            self._say(
                f"{name} exited unexpectedly ({describe_exit(returncode)}); "
                f"restarting in {watch.delay:g}s"
            )
            return
        if now < watch.restart_at:
            return
        watch.restart_at = None
        watch.started_at = now
        watch.delay = min(watch.delay * 2, self._backoff.maximum)
        try:
            service.start()
        except OSError as exc:
            self._say(f"{name} could not be restarted ({type(exc).__name__}: {exc})")
            return
        pid = service.process.pid if service.process is not None else "?"
        self._say(f"{name} restarted (restart {watch.restarts + 1}, pid {pid})")
        # Counted once the new process runs and is reported: a reader of `restarts` (another
        # thread) that sees the count also sees the new process and its line.
        watch.restarts += 1

    def _say(self, message: str) -> None:
        self._log.write(f"[launcher] {message}\n")
        self._log.flush()
