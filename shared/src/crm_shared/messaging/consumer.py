"""Consumers that commit offsets only after handling, retry what can recover, dead-letter the rest.

A message that can never succeed (malformed, schema-invalid, unknown tenant) is dead-lettered on
the first attempt: one consumer loop serves every tenant, so retrying it would delay them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from opentelemetry import trace
from pydantic import ValidationError

from crm_shared.cloudevents import (
    Headers,
    MalformedData,
    declared_type,
    envelope_from_record,
    is_binary_mode,
)
from crm_shared.envelope import EventEnvelope, PlainEvent, plain_attributes
from crm_shared.messaging.bus import MessageBus
from crm_shared.messaging.dead_letters import DeadLetterSink, Failure
from crm_shared.messaging.errors import PermanentMessageError
from crm_shared.messaging.kafka import prepare_topics, stop_within
from crm_shared.messaging.membership import leave_group_on_stop
from crm_shared.observability import stages
from crm_shared.observability.context import WorkContext, working_on
from crm_shared.observability.metrics import CONSUMED, CONSUMER_LAG, DEAD_LETTERED
from crm_shared.observability.tracing import context_from, span
from crm_shared.settings import PlatformSettings
from crm_shared.topics import ALL_TOPICS, DEAD_LETTERS
from crm_shared.wiring import DEFAULT_POLL_RECORDS, POLL_RECORDS, UNHURRIED_GROUPS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing message is retried before it is dead-lettered."""

    attempts: int = 5
    first_backoff: float = 0.2
    max_backoff: float = 5.0


def parse_record(value: bytes | None, headers: Headers | None = None) -> EventEnvelope:
    """The envelope of a record, structured or binary CloudEvents mode.

    PermanentMessageError if it is not one (the error names fields, never values).
    """
    try:
        return envelope_from_record(value, headers)
    except MalformedData:
        raise PermanentMessageError("malformed-json", fields=("data",)) from None
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors(include_input=False)):
            raise PermanentMessageError("malformed-json") from None
        raise PermanentMessageError.from_validation(
            "malformed-envelope", exc, model=EventEnvelope
        ) from None


def fetch_wait_ms(group: str, settings: PlatformSettings) -> int:
    """How long the group's fetches wait for data: longer for the unhurried groups."""
    short = settings.kafka_fetch_max_wait_ms
    if group in UNHURRIED_GROUPS:
        return max(short, settings.kafka_unhurried_fetch_max_wait_ms)
    return short


def poll_records(group: str) -> int:
    """How many records the group takes per poll (fewer where each one is a heavy batch)."""
    return POLL_RECORDS.get(group, DEFAULT_POLL_RECORDS)


class EventConsumer:
    """Runs a bus over topics in one group, committing each partition after handling."""

    def __init__(
        self,
        settings: PlatformSettings,
        *,
        group: str,
        topics: Sequence[str],
        bus: MessageBus,
        retry: RetryPolicy | None = None,
        dead_letters: DeadLetterSink | None = None,
    ) -> None:
        self._settings = settings
        self._group = group
        self._topics = list(topics)
        self._bus = bus
        self._retry = retry or RetryPolicy()
        self._dead_letters = dead_letters or DeadLetterSink(settings, client_id=group)
        self.handled = 0
        self.ignored = 0
        self.dead_lettered = 0
        self._lag_reported: set[TopicPartition] = set()

    def _new_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            *self._topics,
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            group_id=self._group,
            client_id=self._group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            security_protocol=self._settings.kafka_security_protocol,
            max_poll_interval_ms=60000,
            session_timeout_ms=self._settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=self._settings.kafka_heartbeat_interval_ms,
            fetch_max_wait_ms=fetch_wait_ms(self._group, self._settings),
            metadata_max_age_ms=self._settings.kafka_metadata_max_age_ms,
        )

    async def _handle_record(
        self, record: ConsumerRecord[bytes, bytes], envelope: EventEnvelope | None = None
    ) -> None:
        """Handle one record; `envelope` is its envelope when the poll already parsed it."""
        if envelope is None and self._ignores_unparsed(record):
            self._count_ignored(1)
            return
        if envelope is None:
            try:
                envelope = parse_record(record.value, record.headers)
            except PermanentMessageError as exc:
                await self._dead_letter(record, Failure.of(exc, "ValidationError", 1))
                return
        if not self._bus.handles(envelope.type) or self._bus.skips(envelope):
            self.ignored += 1  # consumer groups read shared topics
            CONSUMED.labels(self._group, "ignored").inc()
            return
        # Log lines name the event and its tenant; the span joins the trace of the write.
        with (
            working_on(WorkContext(event_id=envelope.id, tenant=envelope.tenant)),
            span(
                f"process {envelope.type}",
                parent=context_from(envelope.traceparent),
                kind=trace.SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.consumer.group.name": self._group,
                    "messaging.destination.name": record.topic,
                    "messaging.message.id": envelope.id,
                },
            ),
        ):
            await self._handle_with_retries(record, envelope)

    def _ignores_unparsed(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        """Whether the record's `ce_type` header names a type this group does not handle, or one
        its bus's `skip_rule` passes over and the record's headers (the rule's own header) or
        plain attributes say so: it is then ignored (the caller counts it) without its envelope
        being validated, and its offset is committed with the poll's. A record without the
        `ce_type` header is parsed and judged by its envelope."""
        event_type = declared_type(record.headers)
        if event_type is None:
            return False
        if self._bus.handles(event_type):
            if not self._bus.may_skip_unvalidated(event_type):
                return False
            # An import's per-contact events a summary reports: named so by their producer's
            # header and never parsed, or (from a producer without it) looked at, never validated.
            if self._bus.skips_declared(record.headers):
                return True
            attributes = plain_attributes(record.value)
            if attributes is None or not self._bus.skips_unvalidated(attributes):
                return False
        return True

    def _plain_event(self, record: ConsumerRecord[bytes, bytes]) -> PlainEvent | None:
        """The record as a PlainEvent when its bus takes its type so (`on_many_plain`) and its
        envelope and data are plain; None: it is validated as usual."""
        event_type = declared_type(record.headers)
        if event_type is None or not self._bus.may_take_plain(event_type):
            return None
        if is_binary_mode(record.headers):
            return None  # the value is the data alone; the headers hold the attributes
        attributes = plain_attributes(record.value)
        return None if attributes is None else self._bus.plain_event(attributes)

    def _count_ignored(self, count: int) -> None:
        # Consumer groups read shared topics. One labelled counter look-up for a poll's ignored
        # records, not one each (an import's thousands a poll).
        self.ignored += count
        CONSUMED.labels(self._group, "ignored").inc(count)

    async def _handle_with_retries(
        self, record: ConsumerRecord[bytes, bytes], envelope: EventEnvelope
    ) -> None:
        backoff = self._retry.first_backoff
        for attempt in range(1, self._retry.attempts + 1):
            try:
                started = time.perf_counter()
                await self._bus.handle(envelope)
                self.handled += 1
                CONSUMED.labels(self._group, "handled").inc()
                if self._settings.crm_log_events:
                    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
                    log.info(
                        "%s: handled %s",
                        self._group,
                        envelope.type,
                        extra={"duration_ms": elapsed_ms},
                    )
                return
            except asyncio.CancelledError:
                raise
            except PermanentMessageError as exc:
                self._log_failure(envelope, attempt, exc, final=True)
                await self._dead_letter(record, Failure.of(exc, type(exc).__name__, attempt))
                return
            except Exception as exc:
                final = attempt == self._retry.attempts
                self._log_failure(envelope, attempt, exc, final=final)
                if final:
                    failure = Failure("retries-exhausted", type(exc).__name__, attempt)
                    await self._dead_letter(record, failure)
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._retry.max_backoff)

    def _log_failure(
        self, envelope: EventEnvelope | PlainEvent, attempt: int, exc: Exception, *, final: bool
    ) -> None:
        # The type name and the slugs only: exception messages may quote personal data.
        detail = type(exc).__name__
        if isinstance(exc, PermanentMessageError):
            detail = f"{exc.reason} {','.join(exc.kinds or exc.fields)}".rstrip()
        log.log(
            logging.ERROR if final else logging.WARNING,
            "%s: event %s (%s) failed (attempt %d%s): %s",
            self._group,
            envelope.id,
            envelope.type,
            attempt,
            ", dead-lettering" if final else "",
            detail,
        )

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], failure: Failure) -> None:
        await self._dead_letters.send(record, group=self._group, failure=failure)
        self.dead_lettered += 1
        CONSUMED.labels(self._group, "dead_lettered").inc()
        DEAD_LETTERED.labels(self._group, failure.reason).inc()

    async def _measure_lag(self, consumer: AIOKafkaConsumer) -> None:
        """Set the lag gauge of each assigned partition: highwater minus the group's position.

        A partition another replica took over in a rebalance stops being reported from here.
        """
        assigned = set(consumer.assignment())
        for gone in self._lag_reported - assigned:
            with contextlib.suppress(KeyError):
                CONSUMER_LAG.remove(self._group, gone.topic, str(gone.partition))
        self._lag_reported &= assigned
        for tp in assigned:
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue  # no fetch answered for this partition yet
            try:
                # Known after a fetch, so this does not wait on the broker.
                position = await consumer.position(tp)
            except IllegalStateError:
                # Handed over while it was measured (a rebalance, a broker that restarted and
                # forgot the group): the loop reads on, as after a refused commit.
                continue
            CONSUMER_LAG.labels(self._group, tp.topic, str(tp.partition)).set(
                max(0, highwater - position)
            )
            self._lag_reported.add(tp)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=poll_records(self._group))
            with stages.poll(time.time()):
                await self._handle_poll(consumer, batches)
            await self._measure_lag(consumer)

    async def _handle_poll(
        self,
        consumer: AIOKafkaConsumer,
        batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
    ) -> None:
        """Handle one poll's records, then commit their offsets."""
        one_by_one: list[list[tuple[ConsumerRecord[bytes, bytes], EventEnvelope | None]]] = []
        together: list[tuple[ConsumerRecord[bytes, bytes], EventEnvelope | PlainEvent]] = []
        for records in batches.values():
            parsed, batch = self._batchable(records)
            if batch is None:
                one_by_one.append(parsed)
            else:
                together.extend(batch)
        if together:
            # Every partition whose records the bus takes many at once: one unit of work.
            await self._handle_together(together)
        for parsed in one_by_one:
            for record, envelope in parsed:
                # Each record is parsed once a poll: an import's thousand per-contact events a
                # summary's group skips cost a second envelope validation each otherwise.
                await self._handle_record(record, envelope)
        if batches:
            await self._commit(consumer, batches)

    async def _commit(
        self,
        consumer: AIOKafkaConsumer,
        batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]],
    ) -> None:
        """Commit the poll's offsets; one the group no longer takes is left for a re-read.

        Handlers record handled event ids with their effect, so the redelivery of an uncommitted
        tail (after a crash, a rebalance or a broker that restarted empty) changes nothing.
        """
        try:
            # Every partition of the poll in one request: one round trip per partition made
            # each poll wait that much longer.
            await consumer.commit(
                {
                    TopicPartition(tp.topic, tp.partition): records[-1].offset + 1
                    for tp, records in batches.items()
                }
            )
        except (CommitFailedError, IllegalStateError) as exc:
            # The group went on without this member (a rebalance, or a broker that restarted
            # empty and forgot the group): aiokafka rejoins on its own and the next poll reads
            # these partitions again from their last committed offset. Replacing the consumer
            # instead cost a join, and its old client rejoined while it stopped, as a member that
            # held every partition until the broker timed it out.
            log.warning(
                "%s: offsets not committed (%s); the group is rejoined and reads them again",
                self._group,
                type(exc).__name__,
            )
            return
        stages.note("offsets_committed")

    def _batchable(
        self, records: list[ConsumerRecord[bytes, bytes]]
    ) -> tuple[
        list[tuple[ConsumerRecord[bytes, bytes], EventEnvelope | None]],
        list[tuple[ConsumerRecord[bytes, bytes], EventEnvelope | PlainEvent]] | None,
    ]:
        """Each record with its envelope (None where it does not parse, or was taken plain), and
        the batch of them the bus takes many at once: None unless it handles every record that
        way.

        Records of types this group ignores (a shared topic's other events) do not stop a batch:
        they are counted as ignored here and left out of it, unparsed when their `ce_type`
        header names the type.
        """
        parsed: list[tuple[ConsumerRecord[bytes, bytes], EventEnvelope | None]] = []
        batch: list[tuple[ConsumerRecord[bytes, bytes], EventEnvelope | PlainEvent]] | None = []
        passed_over = 0
        for index, record in enumerate(records):
            if self._ignores_unparsed(record):
                passed_over += 1  # another group's type on a shared topic, or a skipped one
                continue
            plain = self._plain_event(record)
            if plain is not None:
                # The one-by-one path, should the poll take it, validates it there.
                parsed.append((record, None))
                if batch is not None:
                    batch.append((record, plain))
                continue
            try:
                envelope = parse_record(record.value, record.headers)
            except PermanentMessageError:
                # Dead-lettered on the one-by-one path, with its reason; the rest parsed there.
                self._count_ignored(passed_over)
                return [*parsed, *((later, None) for later in records[index:])], None
            parsed.append((record, envelope))
            if batch is None or not self._bus.handles(envelope.type) or self._bus.skips(envelope):
                continue
            if self._bus.batches(envelope.type):
                batch.append((record, envelope))
            else:
                batch = None
        if batch is not None:
            # The one-by-one path counts what it ignores; a batch's are counted here.
            passed_over += len(parsed) - len(batch)
        if passed_over:
            self._count_ignored(passed_over)
        return parsed, batch

    async def _handle_together(
        self, parsed: list[tuple[ConsumerRecord[bytes, bytes], EventEnvelope | PlainEvent]]
    ) -> None:
        """Handle a poll's batchable records in one call; a failure of the batch as a whole
        falls back to one record at a time with retries, so a bad message fails alone."""
        if stages.enabled():
            stages.handled([envelope.id for _, envelope in parsed])
        try:
            with span(
                "process batch",
                parent=None,
                kind=trace.SpanKind.CONSUMER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.consumer.group.name": self._group,
                    "messaging.batch.message_count": str(len(parsed)),
                },
            ):
                started = time.perf_counter()
                outcomes = await self._bus.handle_many([envelope for _, envelope in parsed])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(
                "%s: a batch of %d failed (%s); handling its records one by one",
                self._group,
                len(parsed),
                type(exc).__name__,
            )
            for record, envelope in parsed:
                await self._handle_record(record, _validated(envelope))
            return
        handled = sum(outcome is None for outcome in outcomes)
        self.handled += handled
        if self._settings.crm_log_events:
            elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
            done = [envelope for (_, envelope), o in zip(parsed, outcomes, strict=True) if not o]
            self._log_handled_batch(done, elapsed_ms)
        # One labelled counter look-up per poll, not one per message (~4 us each).
        CONSUMED.labels(self._group, "handled").inc(handled)
        for (record, envelope), outcome in zip(parsed, outcomes, strict=True):
            if outcome is None:
                continue
            if isinstance(outcome, PermanentMessageError):
                self._log_failure(envelope, 1, outcome, final=True)
                failure = Failure.of(outcome, type(outcome).__name__, 1)
                await self._dead_letter(record, failure)
            else:
                # Only this message failed: it gets the retries it would have had alone.
                with working_on(WorkContext(event_id=envelope.id, tenant=envelope.tenant)):
                    await self._handle_with_retries(
                        record, _validated(envelope) or parse_record(record.value, record.headers)
                    )

    def _log_handled_batch(
        self, envelopes: Sequence[EventEnvelope | PlainEvent], elapsed_ms: float
    ) -> None:
        """The line each event handled one by one gets, for each event of a batch: in its own
        trace, so a write's trace still reaches the consumers that handle it in batches."""
        for envelope in envelopes:
            with (
                working_on(WorkContext(event_id=envelope.id, tenant=envelope.tenant)),
                span(
                    f"process {envelope.type}",
                    parent=context_from(envelope.traceparent),
                    kind=trace.SpanKind.CONSUMER,
                ),
            ):
                log.info(
                    "%s: handled %s",
                    self._group,
                    envelope.type,
                    extra={"duration_ms": elapsed_ms, "batch_size": len(envelopes)},
                )

    async def run(self) -> None:
        """Consume until cancelled, reconnecting with backoff while the broker is unreachable."""
        backoff = 0.5
        known = [t for t in ALL_TOPICS if t.name in self._topics or t == DEAD_LETTERS]
        try:
            while True:
                consumer = self._new_consumer()
                try:
                    # A restarted in-memory broker comes back empty: recreate what it reads
                    # (or, with CRM_REQUIRE_TOPICS, wait for the topic Job to have created it).
                    await prepare_topics(self._settings, known)
                    await consumer.start()
                    leave_group_on_stop(consumer)
                    backoff = 0.5
                    await self._consume(consumer)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning(
                        "%s: consumer stopped (%s); reconnecting in %.1fs",
                        self._group,
                        type(exc).__name__,  # broker and commit errors: handler errors stay in
                        backoff,
                    )
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
                finally:
                    await stop_within(consumer.stop, what=f"{self._group} consumer")
        finally:
            await self._dead_letters.close()


def _validated(envelope: EventEnvelope | PlainEvent) -> EventEnvelope | None:
    """The envelope, or None for a PlainEvent (whose record is then parsed and validated)."""
    return envelope if isinstance(envelope, EventEnvelope) else None
