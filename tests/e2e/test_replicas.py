"""Two replicas of every service on one store and one broker: an import, a merge and an erasure
complete while replicas are killed, and nothing is applied twice.

Each service runs as two processes sharing its SQLite file (as replicas share MongoDB). Leases
live 4 s here, so a killed holder's work moves to the other replica within about that. One
platform serves both tests (starting nine processes is most of the time on a busy machine): the
first restarts the replicas it killed, as Kubernetes restarts a crashed pod.
"""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from faker import Faker

from crm_shared.devstack import EmbeddedBroker, Platform, ServiceProcess, free_port
from crm_shared.messaging.kafka import ensure_topics
from crm_shared.storage.sqlite_ids import read_id
from crm_shared.storage.sqlite_keys import stored_path
from tests.conftest import ADMIN_KEY, TEST_API_KEYS, auth
from tests.e2e.conftest import RunningPlatform, eventually

# Heavy and fault-like (SIGKILLs of lease holders): run with the fault suite, `make test-faults`.
pytestmark = [pytest.mark.e2e, pytest.mark.faults]

T = TypeVar("T")
SERVICES = ("contacts", "timeline", "importer", "gdpr")
# Enough batches (of 20) that the kills land mid-import (400 rows were once all applied before
# both kills had landed), few enough to finish in seconds.
ROWS = 800


def _rows(database: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


class Replicas:
    """The processes of each service, and which of them holds a lease."""

    def __init__(self, stack: RunningPlatform) -> None:
        self.stack = stack

    def of(self, service: str) -> list[ServiceProcess]:
        return [p for p in self.stack.platform.services.values() if p.name == service]

    def alive(self, service: str) -> ServiceProcess:
        return next(p for p in self.of(service) if p.process and p.process.poll() is None)

    def client(self, service: str) -> httpx.Client:
        """A client of a live replica (as a Kubernetes Service would route to one)."""
        return httpx.Client(base_url=self.alive(service).url, headers=auth(ADMIN_KEY), timeout=30)

    def holder(self, service: str, lease: str) -> ServiceProcess | None:
        rows = _rows(
            self.stack.data_dir / f"{service}.sqlite3",
            f"SELECT holder FROM _leases WHERE name = '{lease}' AND expires_at > 0",
        )
        if not rows:
            return None
        holder = str(rows[0][0])
        return next(
            (p for p in self.of(service) if p.process and f"-{p.process.pid}-" in holder), None
        )

    def kill_holder(self, service: str, lease: str, *, revive: bool = False) -> ServiceProcess:
        """SIGKILL the replica holding `lease`: no clean shutdown, no lease released.

        With `revive`, the killed replica starts again at once (see `revive`).
        """
        holder = eventually(lambda: self.holder(service, lease), what=f"a holder of {lease}")
        holder.stop(kill=True)
        if revive:
            self.revive(holder)
        return holder

    def revive(self, killed: ServiceProcess) -> None:
        """Start a killed replica again on its port, as a crashed pod is restarted; the leases
        stay with whoever took them meanwhile."""
        killed.start()
        killed.wait_ready(180.0)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    tmp_path = tmp_path_factory.mktemp("replicas")
    log = (tmp_path / "platform.log").open("w")
    broker = EmbeddedBroker(log=log)
    broker.start()
    asyncio.run(ensure_topics(broker.bootstrap_servers))
    platform = Platform(
        broker.bootstrap_servers,
        tmp_path / "data",
        {name: free_port() for name in SERVICES},
        extra_env={
            "CRM_API_KEYS": TEST_API_KEYS,
            "CRM_ENV": "test",
            "CRM_LEASE_SECONDS": "4",
            "IMPORTER_BATCH_SIZE": "20",
            # Kafka's usual session timeout: on a busy machine a short one makes the two
            # members of each group miss heartbeats and rebalance over and over.
            "KAFKA_SESSION_TIMEOUT_MS": "10000",
            "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
        },
        log=log,
        # Nine Python processes starting at once on two shared cores take their time.
        ready_timeout=180.0,
    )
    stack = RunningPlatform(broker, platform, tmp_path / "data", tmp_path / "platform.log")
    try:
        platform.start()
        # Started side by side, not one after the other: on two busy cores each takes a while.
        for replica in [platform.add_replica(service, wait=False) for service in SERVICES]:
            replica.wait_ready(platform.ready_timeout)
        yield Replicas(stack)
    finally:
        platform.stop()
        broker.stop()
        log.close()


def _people_csv() -> bytes:
    """ROWS people with varied names, as real data has (a shared name would make every contact
    a duplicate candidate of every other, and the pair refresh quadratic)."""
    fake = Faker("en_US")
    fake.seed_instance(14)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email"])
    for i in range(ROWS):
        writer.writerow([fake.name(), f"replica.person.{i}@example.org"])
    return out.getvalue().encode()


def _state(r: Replicas) -> str:
    """What each store holds of leases, outbox and handled events: printed when a wait fails."""
    lines = []
    for service in SERVICES:
        database = r.stack.data_dir / f"{service}.sqlite3"
        leases = _rows(database, "SELECT name, holder, token FROM _leases")
        outbox = _rows(database, "SELECT COUNT(*) FROM _outbox")
        handled = _rows(database, "SELECT consumer, COUNT(*) FROM _processed GROUP BY 1")
        alive = [p.process.pid for p in r.of(service) if p.process and p.process.poll() is None]
        lines.append(f"{service}: alive {alive} leases {leases} outbox {outbox} handled {handled}")
    return "\n".join(lines)


def waited(r: Replicas, probe: Callable[[], T | None], *, within: float, what: str) -> T:
    """`eventually`, and on a timeout what the stores hold, to tell where the work stopped."""
    try:
        return eventually(probe, within=within, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_state(r)}") from None


def _email_path(database: Path) -> str:
    """The stored JSON path of a contact's email (declared fields have short codes)."""
    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    except sqlite3.OperationalError:
        return "$.email"  # no file yet: no contact either
    try:
        return stored_path(conn, "contacts", "email")
    except sqlite3.OperationalError:
        return "$.email"
    finally:
        conn.close()


def _contacts_created(r: Replicas) -> int:
    database = r.stack.data_dir / "contacts.sqlite3"
    rows = _rows(
        database,
        "SELECT COUNT(*) FROM c_contacts "
        f"WHERE json_extract(doc, '{_email_path(database)}') LIKE 'replica.person.%'",
    )
    return int(rows[0][0]) if rows else 0


def test_an_import_finishes_once_when_the_worker_and_relay_holders_die(replicas: Replicas) -> None:
    r = replicas
    started = r.client("importer").post(
        "/v1/imports", files={"file": ("people.csv", _people_csv(), "text/csv")}
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]

    eventually(lambda: _contacts_created(r) > 0, within=60, what="the import to start")
    killed = [
        r.kill_holder("importer", "import-worker"),
        r.kill_holder("contacts", "contacts-outbox-relay"),
    ]
    assert _contacts_created(r) < ROWS, "the kills must happen mid-import"
    for replica in killed:  # while the survivors carry on
        r.revive(replica)

    job = waited(
        r,
        lambda: (
            (j := r.client("importer").get(f"/v1/imports/{job_id}").json())["status"] == "completed"
            and j
        ),
        within=120,
        what="the import to complete on the surviving replicas",
    )
    assert (job["total_rows"], job["created"], job["failed"]) == (ROWS, ROWS, 0)
    assert _contacts_created(r) == ROWS

    # Every contact reached the timeline exactly once, though the relay changed hands: each has
    # one item (its creation by the import), whatever the item's type is called.
    database = r.stack.data_dir / "contacts.sqlite3"
    email = _email_path(database)
    imported = {
        read_id(row[0])
        for row in _rows(
            database,
            f"SELECT id FROM c_contacts WHERE json_extract(doc, '{email}') LIKE 'replica.person.%'",
        )
    }
    assert len(imported) == ROWS

    def timeline_counts() -> dict[str, int]:
        rows = _rows(
            r.stack.data_dir / "timeline.sqlite3",
            "SELECT json_extract(doc, '$.contact_id'), COUNT(*) FROM c_items GROUP BY 1",
        )
        return {str(contact): int(str(count)) for contact, count in rows if contact in imported}

    counts = waited(
        r,
        lambda: (c := timeline_counts()) and len(c) >= ROWS and c,
        within=120,
        what="every imported contact in the timeline",
    )
    assert len(counts) == ROWS
    assert set(counts.values()) == {1}, "a contact's creation was applied twice"


def test_a_merge_and_an_erasure_complete_while_replicas_die(replicas: Replicas) -> None:
    r = replicas
    contacts = r.client("contacts")
    ids = []
    for email in ("twin.one@example.org", "twin.two@example.org"):
        created = contacts.post(
            "/v1/contacts",
            params={"allow_duplicate": "true"},
            json={"name": "Twin Replica", "email": email},
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    primary, duplicate = ids

    r.kill_holder("contacts", "contacts-outbox-relay", revive=True)
    merged = r.client("contacts").post(
        "/v1/merges", json={"primary_id": primary, "duplicate_ids": [duplicate]}
    )
    assert merged.status_code == 201, merged.text
    assert r.client("contacts").get(f"/v1/contacts/{duplicate}").status_code in (301, 404, 410)

    gdpr = r.client("gdpr")
    erasure = gdpr.post("/v1/erasure-requests", json={"contact_id": primary})
    assert erasure.status_code == 202, erasure.text
    erasure_id = erasure.json()["id"]
    r.kill_holder("gdpr", "gdpr-outbox-relay")
    r.kill_holder("timeline", "timeline-outbox-relay")

    done = waited(
        r,
        lambda: (
            (e := r.client("gdpr").get(f"/v1/erasure-requests/{erasure_id}").json())["status"]
            == "completed"
            and e
        ),
        within=120,
        what="the erasure to complete on the surviving replicas",
    )
    assert set(done["receipts"]) == {"contacts", "timeline", "importer", "gdpr"}
    assert r.client("contacts").get(f"/v1/contacts/{primary}").status_code in (404, 410)

    def audited(action: str) -> int:
        rows = _rows(
            r.stack.data_dir / "gdpr.sqlite3",
            "SELECT COUNT(*) FROM c_audit_entries "
            f"WHERE json_extract(doc, '$.action') = '{action}'",
        )
        return int(rows[0][0]) if rows else 0

    completed = "crm.gdpr.erasure.completed.v1"
    eventually(lambda: audited(completed), within=60, what="the completion in the audit log")
    assert audited(completed) == 1, "the erasure was completed twice"
    # The person is erased record by record: the primary and the duplicate merged into it.
    requested = _rows(
        r.stack.data_dir / "gdpr.sqlite3",
        "SELECT json_extract(doc, '$.target') FROM c_audit_entries "
        "WHERE json_extract(doc, '$.action') = 'crm.gdpr.erasure.requested.v1'",
    )
    assert sorted(str(target) for (target,) in requested) == sorted(ids)

    # Nothing anywhere in the run was applied twice: one audit entry per event and record.
    repeated = _rows(
        r.stack.data_dir / "gdpr.sqlite3",
        "SELECT json_extract(doc, '$.action'), COUNT(*) FROM c_audit_entries GROUP BY "
        "json_extract(doc, '$.event_id'), json_extract(doc, '$.action'), "
        "json_extract(doc, '$.target') HAVING COUNT(*) > 1",
    )
    assert repeated == [], f"events applied twice: {repeated}"
