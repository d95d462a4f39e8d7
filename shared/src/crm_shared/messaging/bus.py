"""A service's message bus: one table from command/event types to their handlers.

Consumers and HTTP routes that do the same thing hand their message to the same bus, so a
message is parsed, checked and dispatched one way whatever brought it in.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.messaging.errors import PermanentMessageError

log = logging.getLogger(__name__)

E = TypeVar("E", bound=EventData)
MessageHandler = Callable[[E, EventEnvelope], Awaitable[object]]
_AnyHandler = Callable[[Any, EventEnvelope], Awaitable[object]]


class MessageBus:
    """Routes an envelope to the handler of its type; types not in the table are ignored.

    `obsolete` lists domain errors meaning "this message no longer applies" (e.g. news about an
    erased contact): `handle` (the consumers' entry) logs and drops them, `dispatch` (an HTTP
    route's entry) raises them so the caller can answer with their status.
    """

    def __init__(self, *, obsolete: tuple[type[Exception], ...] = ()) -> None:
        self._routes: dict[str, tuple[type[EventData], _AnyHandler]] = {}
        self._obsolete = obsolete

    def on(self, model: type[E], handler: MessageHandler[E]) -> MessageBus:
        """Register the handler of one message type (once per type); returns the bus."""
        if model.event_type in self._routes:
            raise ValueError(f"{model.event_type} already has a handler")
        self._routes[model.event_type] = (model, handler)
        return self

    @property
    def event_types(self) -> frozenset[str]:
        """The message types this bus handles."""
        return frozenset(self._routes)

    def handles(self, event_type: str) -> bool:
        """Whether a message of this type has a handler here."""
        return event_type in self._routes

    def parse(self, envelope: EventEnvelope) -> EventData | None:
        """The typed payload, or None for a type not in the table.

        Raises PermanentMessageError when the payload does not fit its model or the tenant is
        missing: retrying such a message cannot fix it.
        """
        route = self._routes.get(envelope.type)
        if route is None:
            return None
        if not envelope.tenant.strip():
            raise PermanentMessageError("unknown-tenant", fields=("tenant",))
        try:
            return route[0].model_validate(envelope.data)
        except ValidationError as exc:
            raise PermanentMessageError.from_validation(
                "schema-invalid", exc, prefix="data"
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
