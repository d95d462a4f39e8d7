"""The traffic of the fault suite: creates, imports, merges, erasures and a bulk action.

Every creating POST carries an Idempotency-Key and is retried with the same key until it gets a
final answer: a client whose request died with a killed service, or answered 5xx/503 while a
dependency was down, repeats it, and the key makes the repeat safe. What each request finally
got is recorded, so the checks know what the platform promised.
"""

from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import auth

RETRY_SECONDS = 180.0
# A write may wait behind an import batch's transaction (the store has one writer): on a starved
# machine that took 40 s. A client that gives up sooner only queues its retry behind it too.
REQUEST_SECONDS = 60.0
GATE_SECONDS = 180.0
# A killed service refuses connections until the supervisor restarted it; a service whose
# dependency is down answers 503; an in-flight key answers 409 until the first try finishes.
RETRIED_STATUSES = frozenset({409, 500, 502, 503, 504})


class GaveUp(AssertionError):
    """A request never got a final answer within RETRY_SECONDS."""


def call(
    base_url: Callable[[], str],
    method: str,
    path: str,
    *,
    idempotent: bool = False,
    ok: tuple[int, ...] = (200, 201, 202),
    gate: threading.Event | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send a request until it succeeds (same Idempotency-Key on every try) or RETRY_SECONDS.

    Each try waits for `gate` to be open (see Chaos: new requests pause while it finds a moment
    when every consumer has read everything).
    """
    headers = {**auth(), **({"Idempotency-Key": str(uuid.uuid4())} if idempotent else {})}
    deadline = time.monotonic() + RETRY_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        if gate is not None and not gate.wait(timeout=GATE_SECONDS):
            raise GaveUp(f"{method} {path}: the traffic stayed paused for {GATE_SECONDS}s")
        try:
            response = httpx.request(
                method, f"{base_url()}{path}", headers=headers, timeout=REQUEST_SECONDS, **kwargs
            )
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}"
        else:
            if response.status_code in ok:
                return response
            if response.status_code not in RETRIED_STATUSES:
                raise AssertionError(f"{method} {path}: {response.status_code} {response.text}")
            last = f"{response.status_code} {response.text[:200]}"
        time.sleep(0.2)
    raise GaveUp(f"{method} {path}: no final answer within {RETRY_SECONDS}s (last: {last})")


@dataclass
class Outcomes:
    """What the platform answered: ids it created and jobs it accepted."""

    created: list[str] = field(default_factory=list)
    import_jobs: list[str] = field(default_factory=list)
    import_rows: int = 0
    merges: list[tuple[str, str]] = field(default_factory=list)
    erasures: dict[str, str] = field(default_factory=dict)  # erasure id -> contact id
    bulk_jobs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take_pair(self, used: set[str]) -> tuple[str, str] | None:
        """Two created contacts no other fault-suite action touched yet."""
        with self.lock:
            free = [cid for cid in self.created if cid not in used]
            if len(free) < 2:
                return None
            used.update(free[:2])
            return free[0], free[1]


@dataclass
class Workload:
    """The four kinds of traffic, each in its own thread, against the running services."""

    url: Callable[[str], str]
    run_id: str
    creates: int = 40
    imports: int = 2
    rows_per_import: int = 100
    merges: int = 6
    erasures: int = 6
    outcomes: Outcomes = field(default_factory=Outcomes)
    # Open (set) while new requests may go out; Chaos closes it for a moment.
    gate: threading.Event = field(default_factory=threading.Event)
    _used: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.gate.set()

    def threads(self) -> list[threading.Thread]:
        """One thread per kind of traffic, not started."""
        return [
            threading.Thread(target=self._guarded(part), name=part.__name__, daemon=True)
            for part in (self._create, self._import, self._merge, self._erase, self._bulk)
        ]

    def _guarded(self, part: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                part()
            except Exception as exc:  # recorded: the test fails naming it
                with self.outcomes.lock:
                    self.outcomes.errors.append(f"{part.__name__}: {exc}")

        return run

    def _service(self, name: str) -> Callable[[], str]:
        return lambda: self.url(name)

    def _create(self) -> None:
        for i in range(self.creates):
            body = {"name": f"Fault {self.run_id} {i}", "email": f"f{i}.{self.run_id}@example.org"}
            response = call(
                self._service("contacts"),
                "POST",
                "/v1/contacts",
                json=body,
                idempotent=True,
                gate=self.gate,
            )
            with self.outcomes.lock:
                self.outcomes.created.append(response.json()["id"])

    def _import(self) -> None:
        for job in range(self.imports):
            csv = io.StringIO()
            csv.write("name,email\n")
            for row in range(self.rows_per_import):
                csv.write(f"Imported {job}-{row},i{job}-{row}.{self.run_id}@example.org\n")
            response = call(
                self._service("importer"),
                "POST",
                "/v1/imports",
                idempotent=True,
                gate=self.gate,
                files={"file": (f"faults-{job}.csv", csv.getvalue().encode(), "text/csv")},
                data={"on_duplicate": "skip"},
            )
            with self.outcomes.lock:
                self.outcomes.import_jobs.append(response.json()["id"])
                self.outcomes.import_rows += self.rows_per_import

    def _merge(self) -> None:
        done = 0
        while done < self.merges:
            pair = self.outcomes.take_pair(self._used)
            if pair is None:
                time.sleep(0.3)
                continue
            primary, duplicate = pair
            body = {"primary_id": primary, "duplicate_ids": [duplicate]}
            call(
                self._service("contacts"),
                "POST",
                "/v1/merges",
                json=body,
                idempotent=True,
                gate=self.gate,
            )
            with self.outcomes.lock:
                self.outcomes.merges.append(pair)
            done += 1

    def _erase(self) -> None:
        done = 0
        while done < self.erasures:
            pair = self.outcomes.take_pair(self._used)
            if pair is None:
                time.sleep(0.3)
                continue
            # The second of the pair is left alone: it keeps the timeline checks meaningful.
            contact_id = pair[0]
            response = call(
                self._service("gdpr"),
                "POST",
                "/v1/erasure-requests",
                json={"contact_id": contact_id},
                idempotent=True,
                gate=self.gate,
            )
            with self.outcomes.lock:
                self.outcomes.erasures[response.json()["id"]] = contact_id
            done += 1

    def _bulk(self) -> None:
        while len(self.outcomes.created) < self.creates // 2:
            time.sleep(0.3)
        with self.outcomes.lock:
            ids = list(self.outcomes.created)
        body = {"action": "add_tags", "ids": ids, "params": {"tags": ["fault-suite"]}}
        response = call(
            self._service("contacts"),
            "POST",
            "/v1/bulk-actions",
            json=body,
            idempotent=True,
            gate=self.gate,
        )
        with self.outcomes.lock:
            self.outcomes.bulk_jobs.append(response.json()["id"])
