"""Fixtures shared by every test tier: the embedded broker, settings, an app client."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from crm_shared.collection import collect_for_throughput
from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.messaging import consumer as consumer_module
from crm_shared.messaging.kafka import ensure_topics
from tests import hang_report

if TYPE_CHECKING:
    from tests.openapi_documents import OpenApiDocuments

# Tests must never pick up a developer's real keys or broker from the environment.
for _name in ("CRM_API_KEYS", "CRM_ENV", "CRM_STORE", "KAFKA_BOOTSTRAP_SERVERS"):
    os.environ.pop(_name, None)

ADMIN_KEY = "test-admin-key"
EDITOR_KEY = "test-editor-key"
VIEWER_KEY = "test-viewer-key"
OTHER_TENANT_KEY = "test-other-tenant-key"
TEST_API_KEYS = ",".join(
    [
        f"{ADMIN_KEY}:acme:admin",
        f"{EDITOR_KEY}:acme:editor",
        f"{VIEWER_KEY}:acme:viewer",
        f"{OTHER_TENANT_KEY}:globex:admin",
    ]
)
UNREACHABLE_BROKER = "127.0.0.1:1"
# A short session timeout: Tansu delays each consumer-group join by about half of it.
os.environ["KAFKA_SESSION_TIMEOUT_MS"] = "2000"
os.environ["KAFKA_HEARTBEAT_INTERVAL_MS"] = "300"
# Tansu answers a waiting fetch only when the wait runs out: a short wait keeps each hop short.
os.environ["KAFKA_FETCH_MAX_WAIT_MS"] = "10"


# Per-test timeouts (pyproject.toml sets the default); end-to-end tests start the whole platform.
E2E_TIMEOUT_SECONDS = 600


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give end-to-end tests the longer timeout unless they set their own."""
    for item in items:
        if item.get_closest_marker("e2e") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(E2E_TIMEOUT_SECONDS))


def pytest_configure(config: pytest.Config) -> None:
    """Collect with the cyclic collector off: importing ~400 test modules and their libraries
    built ~310,000 objects, and full collections walked them 18 times (10.7 s of a 37 s
    collection, load ~6)."""
    gc.disable()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Run the tests with the collector as a service process runs it (crm_shared.collection and
    crm_shared.service): what collection built frozen out of every later collection, and the
    young generation collected every 50,000 allocations instead of 700. Measured on tests/timeline
    and tests/gdpr: 59 s -> 43 s, the collector's own time 5.9 s -> 0.4 s (load ~5)."""
    gc.enable()
    freeze_what_exists()
    collect_for_throughput()


def freeze_what_exists() -> None:
    """Leave every object alive now out of later collections (they walked it all, again and
    again, as the session went on)."""
    gc.collect()
    gc.freeze()


def pytest_timeout_set_timer(item: pytest.Item, settings: object) -> bool | None:
    """On timeout, dump every thread's and every asyncio task's stack, then fail the test."""
    return hang_report.arm(item, settings) or None


def auth(key: str = ADMIN_KEY) -> dict[str, str]:
    """The Authorization header for a test key."""
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """A real Kafka-protocol broker (Tansu, in memory) on a free port, with the topics created."""
    embedded = EmbeddedBroker()
    embedded.start()
    asyncio.run(ensure_topics(embedded.bootstrap_servers))
    yield embedded
    embedded.stop()


def service_env(data_dir: Path) -> dict[str, str]:
    """Environment for an in-process service: test keys, `data_dir`, no reachable broker."""
    return {
        "CRM_ENV": "test",
        "CRM_API_KEYS": TEST_API_KEYS,
        "CRM_DATA_DIR": str(data_dir),
        "KAFKA_BOOTSTRAP_SERVERS": UNREACHABLE_BROKER,
    }


@pytest.fixture
def platform_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for an in-process service: test keys, a temp data dir, no reachable broker."""
    env = service_env(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture(scope="session")
def openapi_documents(tmp_path_factory: pytest.TempPathFactory) -> OpenApiDocuments:
    """Each service's OpenAPI document, built once a session (tests/openapi_documents.py)."""
    # Imported here: a run that reads no document does not import the four services for it.
    from tests.openapi_documents import OpenApiDocuments

    return OpenApiDocuments(service_env(tmp_path_factory.mktemp("openapi")))


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes | None]:
    """Every record value a consumer validates into an envelope (`parse_record`), in order."""
    seen: list[bytes | None] = []
    original = consumer_module.parse_record

    def counting(value: bytes | None, headers: object = None) -> EventEnvelope:
        seen.append(value)
        return original(value, headers)  # type: ignore[arg-type]

    monkeypatch.setattr(consumer_module, "parse_record", counting)
    return seen


@pytest.fixture
def collector_enabled() -> Iterator[None]:
    """The collector running, as in a service; its state put back afterwards."""
    was = gc.isenabled()
    gc.enable()
    try:
        yield
    finally:
        (gc.enable if was else gc.disable)()
