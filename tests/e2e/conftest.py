"""The whole platform as real processes: the embedded broker and the four services."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from crm_shared.devstack import SERVICES, EmbeddedBroker, Platform, free_port
from crm_shared.messaging.kafka import ensure_topics
from tests.conftest import ADMIN_KEY, TEST_API_KEYS, auth

T = TypeVar("T")


@dataclass
class RunningPlatform:
    """URLs of the running services and the data folder they write to."""

    broker: EmbeddedBroker
    platform: Platform
    data_dir: Path
    log_path: Path

    def url(self, service: str) -> str:
        """Base URL of a service."""
        return self.platform.services[service].url

    def client(self, service: str, key: str = ADMIN_KEY) -> httpx.Client:
        """An HTTP client for a service, authenticated with a test key."""
        return httpx.Client(base_url=self.url(service), headers=auth(key), timeout=30)


def start_platform(
    root: Path,
    names: tuple[str, ...] | None = None,
    *,
    env: dict[str, str] | None = None,
    ready_seconds: float = 90.0,
) -> RunningPlatform:
    """Start a broker and the named services (all by default) on free ports under `root`."""
    log_path = root / "platform.log"
    log = log_path.open("w")
    broker = EmbeddedBroker(log=log)
    broker.start()
    asyncio.run(ensure_topics(broker.bootstrap_servers))
    ports = {name: free_port() for name, _ in SERVICES}
    platform = Platform(
        broker.bootstrap_servers,
        root / "data",
        ports,
        extra_env={"CRM_API_KEYS": TEST_API_KEYS, "CRM_ENV": "test", **(env or {})},
        log=log,
        ready_timeout=ready_seconds,
    )
    try:
        platform.start(iter(names) if names else None)
    except BaseException:
        # A service that never became healthy must not outlive the test as an orphan.
        platform.stop()
        broker.stop()
        raise
    return RunningPlatform(broker, platform, root / "data", log_path)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """The four services and the broker, shared by the tests of one module."""
    stack = start_platform(tmp_path_factory.mktemp("platform"))
    try:
        yield stack
    finally:
        stack.platform.stop()
        stack.broker.stop()


def eventually(probe: Callable[[], T | None], *, within: float = 30.0, what: str = "") -> T:
    """Poll until `probe` returns something truthy, or fail saying what never happened."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out after {within}s waiting for {what or probe}: last={last!r}")
