"""The fault suite (`make test-faults`): the platform under SIGKILLs and a broker restart.

The four services run as real processes under the supervisor of `make run`; while creates,
imports, merges, erasures and a bulk action go on, a seeded schedule SIGKILLs services at random
moments and restarts the embedded broker. Afterwards every store is read and the promises are
checked: each committed contact has its creation applied once in the timeline and once in the
audit log, nothing is applied twice, every outbox is drained (each committed event was
acknowledged by a broker), every job reached a final state, and the audit chain verifies.

The seed is printed; `CRM_FAULT_SEED=<seed> make test-faults` replays the same schedule (the
moments are the same; what is in flight at each depends on the machine's speed).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm_shared.supervisor import Backoff, Supervisor
from tests.e2e.conftest import RunningPlatform, eventually, start_platform
from tests.faults.chaos import Chaos
from tests.faults.ledger import CREATED, ERASURE_COMPLETED, MERGED, Ledger
from tests.faults.workload import Workload, call

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(900)]

SERVICES = ("contacts", "timeline", "importer", "gdpr")
TRAFFIC_WINDOW_SECONDS = 30.0
TRAFFIC_SECONDS = 300.0
SETTLE_SECONDS = 180.0


@pytest.fixture
def seed() -> int:
    """The schedule's seed: CRM_FAULT_SEED, or a new one (printed either way)."""
    value = int(os.environ.get("CRM_FAULT_SEED") or random.SystemRandom().randrange(2**32))
    print(f"\nfault suite seed: {value} (replay: CRM_FAULT_SEED={value} make test-faults)")
    return value


# A broker restart loses the records it held (embedded, in memory): gdpr sends an erasure's
# commands again when a receipt is missing, here within the suite's wait instead of minutes.
RESEND_SOON = {"GDPR_ERASURE_RESEND_SECONDS": "15", "GDPR_DEADLINE_CHECK_SECONDS": "3"}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[RunningPlatform, Supervisor]]:
    """The four services and the broker, with crashed services restarted by the supervisor."""
    # A generous start-up: the suite also runs on machines busy with other work.
    running = start_platform(tmp_path, SERVICES, env=RESEND_SOON, ready_seconds=120)
    assert running.platform.log is not None
    supervisor = Supervisor(
        running.platform.services,
        log=running.platform.log,
        backoff=Backoff(initial=0.2, maximum=1.0, stable_after=10.0),
    )
    supervisor.start()
    try:
        yield running, supervisor
    finally:
        supervisor.stop()
        running.platform.stop()
        running.broker.stop()


def _final(url: str, path: str, finals: tuple[str, ...]) -> dict[str, object]:
    def probe() -> dict[str, object] | None:
        body: dict[str, object] = call(lambda: url, "GET", path, ok=(200,)).json()
        return body if body["status"] in finals else None

    return eventually(probe, within=SETTLE_SECONDS, what=f"{path} to reach {finals}")


def test_kills_and_a_broker_restart_lose_nothing_and_apply_nothing_twice(
    stack: tuple[RunningPlatform, Supervisor], seed: int
) -> None:
    running, supervisor = stack
    rng = random.Random(seed)
    workload = Workload(running.url, run_id=uuid.uuid4().hex[:8])
    chaos = Chaos(running, rng, TRAFFIC_WINDOW_SECONDS, traffic=workload.gate)
    plan = chaos.schedule()
    print("plan:", "; ".join(f"{at:.1f}s {what}" for at, what in plan))

    threads = workload.threads()
    faults = threading.Thread(target=chaos.run, args=(plan,), name="chaos", daemon=True)
    for thread in [*threads, faults]:
        thread.start()
    deadline = time.monotonic() + TRAFFIC_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    faults.join(TRAFFIC_SECONDS)
    chaos.stop()
    outcomes = workload.outcomes
    assert not outcomes.errors, outcomes.errors
    assert not chaos.errors, chaos.errors
    assert not any(thread.is_alive() for thread in threads), "the traffic did not finish"

    # No job stuck: every import, erasure and bulk action reaches a final state.
    importer, gdpr, contacts = running.url("importer"), running.url("gdpr"), running.url("contacts")
    jobs = [
        _final(importer, f"/v1/imports/{j}", ("completed", "failed")) for j in outcomes.import_jobs
    ]
    erasures = [
        _final(gdpr, f"/v1/erasure-requests/{e}", ("completed", "failed"))
        for e in outcomes.erasures
    ]
    bulk = [
        _final(contacts, f"/v1/bulk-actions/{b}", ("completed", "failed", "cancelled"))
        for b in outcomes.bulk_jobs
    ]
    assert [job["status"] for job in jobs] == ["completed"] * len(jobs), jobs
    assert [e["status"] for e in erasures] == ["completed"] * len(erasures), erasures
    assert [b["status"] for b in bulk] == ["completed"] * len(bulk), bulk
    imported = sum(int(str(job["created"])) for job in jobs)
    assert imported == outcomes.import_rows, jobs

    erased = set(outcomes.erasures.values())
    merged = {cid for pair in outcomes.merges for cid in pair}
    expected_creations = len(outcomes.created) + imported

    def settled() -> Ledger | None:
        ledger = Ledger.read(running.data_dir)
        applied = ledger.timeline_creations()
        done = (
            not any(ledger.pending_events.values())
            and sum(ledger.audited(*CREATED).values()) >= expected_creations - len(erased)
            and sum(applied.values()) >= expected_creations - len(erased)
            and set(ledger.audited(MERGED)) >= merged
            and sum(ledger.audited(ERASURE_COMPLETED).values()) >= len(erased)
        )
        return ledger if done else None

    try:
        ledger = eventually(settled, within=SETTLE_SECONDS, what="every effect to be applied")
    finally:
        print("faults:", "; ".join(chaos.done))
    time.sleep(2)  # anything applied twice would show up now
    ledger = Ledger.read(running.data_dir)

    # Committed changes: every contact a client was told about, and every imported row.
    committed = set(ledger.contacts) | erased
    assert set(outcomes.created) <= committed
    assert len(committed) == expected_creations, (len(committed), expected_creations)
    # Published: every outbox drained, so each committed event was acknowledged by a broker.
    assert ledger.pending_events == dict.fromkeys(SERVICES, 0)
    # Applied, none twice: one creation per contact in the audit log and in the timeline.
    audited = ledger.audited(*CREATED)
    assert set(audited) <= committed
    assert {cid: n for cid, n in audited.items() if n != 1} == {}
    assert committed - erased <= set(audited)
    timeline = ledger.timeline_creations()
    assert {cid: n for cid, n in timeline.items() if n != 1} == {}
    assert set(timeline) == committed - erased, committed - erased ^ set(timeline)
    assert ledger.audit_entries_seen_twice() == []
    # Each merge is audited once for the primary and once for the duplicate.
    assert ledger.audited(MERGED) == dict.fromkeys(merged, 1)
    assert sum(ledger.audited(ERASURE_COMPLETED).values()) == len(erased)
    untouched = committed - erased - merged
    assert all(timeline[cid] == 1 for cid in untouched)

    chain = call(lambda: gdpr, "GET", "/v1/audit-log/verify", ok=(200,)).json()
    assert chain["valid"] is True and chain["checked"] == len(ledger.audit), chain

    restarts = {name: supervisor.restarts(name) for name in SERVICES}
    print(
        f"fault suite counts: seed={seed} faults={len(chaos.done)} restarts={restarts} "
        f"contacts committed={len(committed)} (http {len(outcomes.created)}, imported {imported}) "
        f"creations audited={sum(audited.values())} in timeline={sum(timeline.values())} "
        f"merges={len(outcomes.merges)} erasures={len(erased)} bulk={len(bulk)} "
        f"audit entries={len(ledger.audit)} chain valid={chain['valid']}"
    )
