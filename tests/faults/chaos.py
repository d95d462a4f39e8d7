"""The faults: SIGKILL of a service at seeded random moments, and a restart of the broker.

The supervisor of `make run` (crm_shared.supervisor) restarts a killed service, as it would for
a crash. The embedded broker keeps everything in memory, so its restart is a new, empty cluster
on the same port: the topics are created again (as `make run` does at start-up), the consumer
groups have no committed offsets, and each consumer starts again from the earliest record.

What the in-memory broker cannot survive is a record it acknowledged that no consumer has read
yet: it dies with the broker (the outbox already let it go). The first runs of this suite lost an
import's batch that way, leaving the job `running`. So the broker is stopped at a moment when
every declared consumer group has committed up to the end of its topics, found while the services
are frozen (SIGSTOP, a second at most) and new requests wait: HTTP traffic goes on around the
restart, writes made while the broker is down wait in the outboxes, and nothing acknowledged is
lost.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from crm_shared.devstack import EmbeddedBroker
from crm_shared.messaging.kafka import ensure_topics
from crm_shared.wiring import CONTACTS, GDPR, IMPORTER, TIMELINE
from tests.e2e.conftest import RunningPlatform
from tests.polling import bounded, stop_client

KILLED = ("contacts", "timeline", "importer", "gdpr")
GROUPS = {
    sub.group: tuple(topic.name for topic in sub.topics)
    for messaging in (CONTACTS, TIMELINE, IMPORTER, GDPR)
    for sub in messaging.subscriptions
}
QUIET_SECONDS = 180.0


async def _ends(reader: AIOKafkaConsumer) -> dict[TopicPartition, int]:
    """The end offset of every partition the declared groups consume (no group involved)."""
    await reader.topics()  # refreshes the metadata: partitions of every topic
    topics = {topic for names in GROUPS.values() for topic in names}
    partitions = [
        TopicPartition(topic, p)
        for topic in topics
        for p in reader.partitions_for_topic(topic) or ()
    ]
    return dict(await reader.end_offsets(partitions))


async def _unread(watchers: dict[str, AIOKafkaConsumer], ends: dict[TopicPartition, int]) -> int:
    """Records up to `ends` that their consumer groups have not committed yet."""
    unread = 0
    for group, topics in GROUPS.items():
        for partition, end in ends.items():
            if partition.topic in topics and end > 0:
                unread += max(0, end - (await watchers[group].committed(partition) or 0))
    return unread


@dataclass
class Chaos:
    """A seeded schedule of kills and one broker restart, run in a thread during the traffic."""

    stack: RunningPlatform
    rng: random.Random
    window_seconds: float
    # The workload's gate: closed while the quiet point is sought, so consumers can catch up.
    traffic: threading.Event = field(default_factory=threading.Event)
    kills: int = 6
    broker_down_seconds: tuple[float, float] = (1.0, 3.0)
    done: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def schedule(self) -> list[tuple[float, str]]:
        """(seconds after start, what): the kills, each of a random service, and the restart."""
        plan = [
            (self.rng.uniform(0.5, self.window_seconds), f"kill {self.rng.choice(KILLED)}")
            for _ in range(self.kills)
        ]
        plan.append((self.rng.uniform(0.3, 0.7) * self.window_seconds, "restart broker"))
        return sorted(plan)

    def run(self, plan: list[tuple[float, str]]) -> None:
        """Carry out the plan (from now), logging what was done."""
        start = time.monotonic()
        for at, what in plan:
            if self._stop.wait(max(0.0, start + at - time.monotonic())):
                return
            try:
                if what == "restart broker":
                    self._restart_broker()
                else:
                    self._kill(what.removeprefix("kill "))
            except Exception as exc:  # recorded: the test fails naming it
                self.errors.append(f"{what}: {type(exc).__name__}: {exc}")
                return
            self.done.append(f"{time.monotonic() - start:.1f}s {what}")

    def stop(self) -> None:
        """Stop before the next planned fault."""
        self._stop.set()

    def _kill(self, name: str) -> None:
        process = self.stack.platform.services[name].process
        if process is not None and process.poll() is None:
            process.kill()

    @contextmanager
    def _frozen(self) -> Iterator[None]:
        pids = [
            service.process.pid
            for service in self.stack.platform.services.values()
            if service.process is not None and service.process.poll() is None
        ]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)

    async def _restart_broker_when_all_read(self) -> int:
        """Stop the broker once no acknowledged record is unread, then start an empty one.

        Returns how many checks it took. The Kafka clients of the check stay open across the
        restart and stop against the new broker: stopping them against none takes seconds each.
        """
        port = self.stack.broker.port
        bootstrap = self.stack.broker.bootstrap_servers
        reader = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        # One consumer per group that never joins it: it only reads the group's commits.
        watchers = {
            group: AIOKafkaConsumer(
                bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
            )
            for group in GROUPS
        }
        for client in [reader, *watchers.values()]:
            await bounded(client.start(), seconds=20, what="a Kafka client start")
        deadline = time.monotonic() + QUIET_SECONDS
        checks = 1
        # New requests wait (those in flight finish): on a busy machine the consumers never
        # caught up with the traffic within a minute. Writes resume once the broker is down.
        self.traffic.clear()
        try:
            while not await self._stopped_when_all_read(watchers, reader):
                checks += 1
                if time.monotonic() > deadline:
                    raise AssertionError(f"consumers never caught up within {QUIET_SECONDS}s")
                await asyncio.sleep(0.2)
            self.traffic.set()
            await asyncio.sleep(self.rng.uniform(*self.broker_down_seconds))
            broker = EmbeddedBroker(port, log=self.stack.broker._log)
            broker.start()
            self.stack.broker = broker
            await ensure_topics(broker.bootstrap_servers)
        finally:
            self.traffic.set()
            for client in [reader, *watchers.values()]:
                await stop_client(client)
        return checks

    async def _stopped_when_all_read(
        self, watchers: dict[str, AIOKafkaConsumer], reader: AIOKafkaConsumer
    ) -> bool:
        # Every group has committed up to the ends read first; frozen, the ends are read again
        # (no group involved: frozen members stall group requests) and must not have moved.
        ends = await _ends(reader)
        if await _unread(watchers, ends) != 0:
            return False
        with self._frozen():
            if await bounded(_ends(reader), seconds=5, what="end offsets") != ends:
                return False
            self.stack.broker.stop()
            return True

    def _restart_broker(self) -> None:
        checks = asyncio.run(self._restart_broker_when_all_read())
        self.done.append(f"broker stopped with every record read (check {checks})")
