"""A service's message bus: one table from command/event types to their handlers.

Consumers and HTTP routes that do the same thing hand their message to the same bus, so a
message is parsed, checked and dispatched one way whatever brought it in.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from crm_shared.cloudevents import Headers, has_header
from crm_shared.envelope import EventData, EventEnvelope, PlainEvent
from crm_shared.messaging.errors import PermanentMessageError

log = logging.getLogger(__name__)

E = TypeVar("E", bound=EventData)
MessageHandler = Callable[[E, EventEnvelope], Awaitable[object]]
# A handler of many messages of one type at once (one unit of work for a consumer's poll): it
# returns one result per message, an Exception instance for a message that failed on its own.
BatchHandler = Callable[[Sequence[tuple[E, EventEnvelope]]], Awaitable[Sequence[object]]]
_AnyHandler = Callable[[Any, EventEnvelope], Awaitable[object]]
_AnyBatchHandler = Callable[[Sequence[tuple[Any, EventEnvelope]]], Awaitable[Sequence[object]]]
# A batch handler that also takes events as PlainEvent (`on_many_plain`), in their order.
PlainBatchHandler = Callable[
    [Sequence[tuple[Any, EventEnvelope] | PlainEvent]], Awaitable[Sequence[object]]
]


@dataclass(frozen=True)
class SkipRule:
    """Which messages of handled types a bus skips, judged on the type and the raw data alone,
    so a consumer may pass over them before validating their envelope (`skips_unvalidated`).

    `header` names a record header by which its producer declares a message of `types` one the
    rule skips: a consumer then passes over it on its headers, without parsing its value
    (`skips_declared`); a record without the header is judged by `applies`.
    """

    types: frozenset[str]
    applies: Callable[[str, dict[str, Any]], bool]
    header: str | None = None


class MessageBus:
    """Routes an envelope to the handler of its type; types not in the table are ignored.

    `obsolete` lists domain errors meaning "this message no longer applies" (e.g. news about an
    erased contact): `handle` (the consumers' entry) logs and drops them, `dispatch` (an HTTP
    route's entry) raises them so the caller can answer with their status. `skip` names messages
    of handled types this service reads in another form (an import's per-contact events, which
    its batch summaries report): they are ignored before their data is parsed. `skip_rule`
    names such messages by their type and raw data, so a consumer passes over them before even
    validating their envelope.
    """

    def __init__(
        self,
        *,
        obsolete: tuple[type[Exception], ...] = (),
        skip: Callable[[EventEnvelope], bool] | None = None,
        skip_rule: SkipRule | None = None,
    ) -> None:
        self._routes: dict[str, tuple[type[EventData], _AnyHandler]] = {}
        self._batches: dict[str, _AnyBatchHandler] = {}
        self._plain: dict[str, Callable[[dict[str, Any]], bool]] = {}
        self._obsolete = obsolete
        self._skip = skip
        self._skip_rule = skip_rule

    def on(self, model: type[E], handler: MessageHandler[E]) -> MessageBus:
        """Register the handler of one message type (once per type); returns the bus."""
        if model.event_type in self._routes:
            raise ValueError(f"{model.event_type} already has a handler")
        self._routes[model.event_type] = (model, handler)
        return self

    def on_many(self, model: type[E], handler: BatchHandler[E]) -> MessageBus:
        """Register a handler that takes many messages of one type in one unit of work.

        The same handler registered for several types takes a run mixing them in one call.

        A single message (an HTTP route's `dispatch`) goes through the same handler as a batch
        of one, so both ways in share one code path.
        """

        async def one(message: E, envelope: EventEnvelope) -> object:
            [result] = await handler([(message, envelope)])
            if isinstance(result, Exception):
                raise result
            return result

        self.on(model, one)
        self._batches[model.event_type] = handler
        return self

    def on_many_plain(
        self,
        model: type[E],
        handler: PlainBatchHandler,
        *,
        takes_as_is: Callable[[dict[str, Any]], bool],
    ) -> MessageBus:
        """`on_many`, and a message of this type whose envelope `plain_attributes` takes and
        whose data `takes_as_is` (data the model would take without coercion) reaches the
        handler as a PlainEvent, never validated: for the bulk of a busy topic, where building
        an envelope and a payload model per message cost more than the handling. Anything else
        of the type is validated (and refused) as before."""
        self.on_many(model, handler)
        self._plain[model.event_type] = takes_as_is
        return self

    def may_take_plain(self, event_type: str) -> bool:
        """Whether messages of this type may reach their handler as PlainEvent."""
        return event_type in self._plain

    def plain_event(self, attributes: dict[str, Any]) -> PlainEvent | None:
        """The PlainEvent of attributes `plain_attributes` took, when this bus handles it so
        (None: validate it as usual, which also refuses a blank tenant)."""
        takes_as_is = self._plain.get(attributes["type"])
        if takes_as_is is None or self._skip is not None or not attributes["tenant"].strip():
            return None
        if self.skips_unvalidated(attributes) or not takes_as_is(attributes["data"]):
            return None
        return PlainEvent.of(attributes)

    def batches(self, event_type: str) -> bool:
        """Whether messages of this type may be handled many at once (`handle_many`)."""
        return event_type in self._batches

    async def handle_many(
        self, envelopes: Sequence[EventEnvelope | PlainEvent]
    ) -> list[Exception | None]:
        """Handle messages of batchable types, each type's run in one call of its handler
        (a PlainEvent, which `plain_event` made, goes to its handler as it is).

        Returns, per envelope, None when it was handled (or dropped as obsolete) or the error
        that message alone failed with (a PermanentMessageError for one that can never succeed).
        An error of the whole batch (the store is down) is raised: the caller retries one by one.
        """
        outcomes: list[Exception | None] = [None] * len(envelopes)
        # Consecutive messages of one handler form a run (one handler may take several types),
        # so the order between handlers is kept.
        runs: list[list[tuple[int, EventData | None, EventEnvelope | PlainEvent]]] = []
        for index, envelope in enumerate(envelopes):
            if not self.batches(envelope.type):
                raise ValueError(f"{envelope.type} has no batch handler")
            message: EventData | None = None
            if isinstance(envelope, EventEnvelope):
                try:
                    message = self.parse(envelope)
                except PermanentMessageError as exc:
                    outcomes[index] = exc
                    continue
                if message is None:
                    continue  # skipped (a batchable type always has a route)
            if not runs or self._batches[runs[-1][0][2].type] is not self._batches[envelope.type]:
                runs.append([])
            runs[-1].append((index, message, envelope))
        for run in runs:
            handler = self._batches[run[0][2].type]
            # A run holds PlainEvents only where its handler was registered to take them.
            items: list[Any] = [
                envelope if isinstance(envelope, PlainEvent) else (message, envelope)
                for _, message, envelope in run
            ]
            results = await handler(items)
            for (index, _, envelope), result in zip(run, results, strict=True):
                if isinstance(result, self._obsolete):
                    log.info("dropped %s %s: %s", envelope.type, envelope.id, type(result).__name__)
                elif isinstance(result, Exception):
                    outcomes[index] = result
        return outcomes

    @property
    def event_types(self) -> frozenset[str]:
        """The message types this bus handles."""
        return frozenset(self._routes)

    def handles(self, event_type: str) -> bool:
        """Whether a message of this type has a handler here."""
        return event_type in self._routes

    def skips(self, envelope: EventEnvelope) -> bool:
        """Whether this message is ignored although its type has a handler (see `skip`)."""
        if self._skip_rule is not None and self._skip_rule.applies(envelope.type, envelope.data):
            return True
        return self._skip is not None and self._skip(envelope)

    def may_skip_unvalidated(self, event_type: str) -> bool:
        """Whether messages of this type may be skipped on their raw attributes (`skip_rule`)."""
        return self._skip_rule is not None and event_type in self._skip_rule.types

    def skips_declared(self, headers: Headers | None) -> bool:
        """Whether a record of a `may_skip_unvalidated` type carries its rule's `header`."""
        rule = self._skip_rule
        return rule is not None and rule.header is not None and has_header(headers, rule.header)

    def skips_unvalidated(self, attributes: dict[str, Any]) -> bool:
        """`skips` for attributes EventEnvelope would take as they are (`plain_attributes`)."""
        rule = self._skip_rule
        return rule is not None and rule.applies(attributes["type"], attributes["data"])

    def parse(self, envelope: EventEnvelope) -> EventData | None:
        """The typed payload, or None for a type not in the table or a skipped message.

        Raises PermanentMessageError when the payload does not fit its model or the tenant is
        missing: retrying such a message cannot fix it.
        """
        route = self._routes.get(envelope.type)
        if route is None or self.skips(envelope):
            return None
        if not envelope.tenant.strip():
            raise PermanentMessageError("unknown-tenant", fields=("tenant",))
        try:
            return route[0].model_validate(envelope.data)
        except ValidationError as exc:
            raise PermanentMessageError.from_validation(
                "schema-invalid", exc, model=route[0], prefix="data"
            ) from None

    async def dispatch(self, envelope: EventEnvelope) -> object:
        """Run the handler of the envelope's type and return its result (None if unhandled)."""
        message = self.parse(envelope)
        if message is None:
            return None
        _, handler = self._routes[envelope.type]
        return await handler(message, envelope)

    async def handle(self, envelope: EventEnvelope) -> None:
        """What a consumer runs: dispatch, dropping (with a log line) messages now obsolete."""
        try:
            await self.dispatch(envelope)
        except self._obsolete as exc:
            log.info("dropped %s %s: %s", envelope.type, envelope.id, type(exc).__name__)
