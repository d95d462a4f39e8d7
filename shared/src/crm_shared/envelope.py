"""The CloudEvents 1.0 envelope every event travels in, plus the tenant and the actor."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal, Self

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from crm_shared.clock import utcnow
from crm_shared.ids import new_id

CONTENT_TYPE = "application/cloudevents+json"
# Where each event type's JSON Schema is published: `<base><event type>.json`, the `$id` of the
# generated file shared/schemas/<event type>.json.
SCHEMA_BASE_URI = "https://crm.example/schemas/"


def schema_uri(event_type: str) -> str:
    """The `dataschema` of an event type: the `$id` of its generated JSON Schema."""
    return f"{SCHEMA_BASE_URI}{event_type}.json"


class EventData(BaseModel):
    """Base of every event payload: frozen and versioned by its `event_type`.

    Producers only write declared fields (the models are frozen and typed); readers ignore fields
    they do not know, so a later version may add optional fields without breaking old consumers.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")
    event_type: ClassVar[str]
    topic: ClassVar[str]


class EventEnvelope(BaseModel):
    """A CloudEvents 1.0 structured-mode event; `id` is what consumers deduplicate on."""

    # CloudEvents extension attributes from other producers are tolerated and dropped.
    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    # No defaults: an event read without an id or a time must be rejected, not given new ones.
    id: str = Field(min_length=1)
    source: str
    type: str
    time: datetime
    subject: str | None = None
    datacontenttype: str = "application/json"
    dataschema: str | None = Field(
        default=None, description="The URI of the JSON Schema `data` follows (set on every event)."
    )
    tenant: str
    actor: str | None = Field(
        default=None,
        description="Who caused the event, as `<kind>:<name>`: key:<label or fingerprint>, "
        "import:<job id>, system:<task>, or a product's own name.",
    )
    # CloudEvents distributed-tracing extension: the W3C trace context of the write that caused it.
    traceparent: str | None = None
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        data: EventData,
        *,
        source: str,
        tenant: str,
        subject: str | None,
        actor: str | None = None,
        traceparent: str | None = None,
        time: datetime | None = None,
    ) -> Self:
        """Wrap an event payload in an envelope addressed to its tenant and subject (at `time`,
        now unless a batch of one write gives its one time)."""
        return cls(
            id=new_id(),
            time=time or utcnow(),
            source=source,
            type=data.event_type,
            dataschema=schema_uri(data.event_type),
            subject=subject,
            tenant=tenant,
            actor=actor,
            traceparent=traceparent,
            data=data.model_dump(mode="json"),
        )

    def to_bytes(self) -> bytes:
        """Serialize to the JSON bytes sent as the Kafka record value."""
        # pydantic's serializer writes the same bytes as orjson over model_dump(mode="json")
        # (tests/shared/test_envelope_bytes.py) without building the dict first: 2.5x faster,
        # and every event of an import or a busy timeline goes through here once.
        return self.__pydantic_serializer__.to_json(self)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Parse a Kafka record value; raises pydantic.ValidationError on a malformed event."""
        return cls.model_validate_json(raw)


# Times as RFC 3339 writes them, which pydantic and datetime.fromisoformat read alike; pydantic
# alone judges the other spellings it may accept.
_RFC3339 = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)\Z", re.ASCII
)


def plain_attributes(raw: bytes | None) -> dict[str, Any] | None:
    """A record value's envelope attributes as orjson parses them, when EventEnvelope would take
    them as they are (every attribute of its plain type, no coercion); None for anything else.

    For a consumer that only needs to look at an envelope to pass over it: a None costs it the
    full validation (`EventEnvelope.from_bytes`), which refuses or accepts as it always did
    (tests/shared/test_plain_attributes.py holds the two to the same verdicts).
    """
    try:
        attributes = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return None
    if type(attributes) is not dict:
        return None
    get = attributes.get
    # Text: id, source, type, tenant; text or null: subject, dataschema, actor, traceparent.
    # Spelled out, not two generator walks over the names: every consumed record comes through
    # here, and the walks cost ~1 us a record (3.2 against 4.0 us with orjson's 1.7).
    id_, time = get("id"), get("time")
    if (
        get("specversion") != "1.0"
        or not id_
        or type(id_) is not str
        or type(get("source")) is not str
        or type(get("type")) is not str
        or type(get("tenant")) is not str
        or type(get("data")) is not dict
        or type(time) is not str
    ):
        return None
    subject, dataschema, actor, traceparent = (
        get("subject"),
        get("dataschema"),
        get("actor"),
        get("traceparent"),
    )
    if (
        (subject is not None and type(subject) is not str)
        or (dataschema is not None and type(dataschema) is not str)
        or (actor is not None and type(actor) is not str)
        or (traceparent is not None and type(traceparent) is not str)
        or type(get("datacontenttype", "")) is not str
        or not _RFC3339.match(time)
    ):
        return None
    try:
        datetime.fromisoformat(time)
    except ValueError:
        return None
    return attributes


@dataclass(frozen=True, slots=True)
class PlainEvent:
    """An event read without building its envelope or payload model: its attributes as
    `plain_attributes` gave them, for a type whose handler reads `data` as its model would
    (MessageBus `on_many_plain`). `time` is the attribute's RFC 3339 text."""

    id: str
    type: str
    source: str
    time: str
    tenant: str
    subject: str | None
    actor: str | None
    traceparent: str | None
    data: dict[str, Any]

    @classmethod
    def of(cls, attributes: dict[str, Any]) -> PlainEvent:
        """The event of attributes `plain_attributes` took."""
        get = attributes.get
        return cls(
            attributes["id"],
            attributes["type"],
            attributes["source"],
            attributes["time"],
            attributes["tenant"],
            get("subject"),
            get("actor"),
            get("traceparent"),
            attributes["data"],
        )


@dataclass(slots=True)
class WrittenEnvelope:
    """An envelope its writer built straight as JSON (`EnvelopeWriter`): the attributes the
    writing process reads of it, and the bytes the relay sends. Parsed back, its bytes are the
    EventEnvelope they encode."""

    id: str
    type: str
    tenant: str
    subject: str | None
    actor: str | None
    data: dict[str, Any]
    value: bytes

    def to_bytes(self) -> bytes:
        """The JSON bytes sent as the Kafka record value (written once, when it was built)."""
        return self.value


_TIME_JSON = TypeAdapter(datetime)


class EnvelopeWriter:
    """Envelopes of one kind of event from one write, built as JSON without a model each.

    For payloads already in their JSON form (what `kind(**data).model_dump(mode="json")` gives
    for valid data, such as an import batch's per-contact events made from the documents it
    writes): the bytes `EventEnvelope.wrap(...).to_bytes()` writes, with the kind, source,
    tenant, actor, trace context and time of the write fixed once for all of them.
    """

    def __init__(
        self,
        kind: type[EventData],
        *,
        source: str,
        tenant: str,
        actor: str | None,
        traceparent: str | None,
        time: datetime,
    ) -> None:
        self.type, self.tenant, self.actor = kind.event_type, tenant, actor
        self._source, self._traceparent = source, traceparent
        self._schema = schema_uri(kind.event_type)
        # The envelope's own text of its time (pydantic's), not an equivalent spelling.
        self._time = _TIME_JSON.dump_python(time, mode="json")

    def write(self, event_id: str, subject: str | None, data: dict[str, Any]) -> WrittenEnvelope:
        """The envelope of one payload, its fields in EventEnvelope's order."""
        fields = {
            "specversion": "1.0",
            "id": event_id,
            "source": self._source,
            "type": self.type,
            "time": self._time,
            "subject": subject,
            "datacontenttype": "application/json",
            "dataschema": self._schema,
            "tenant": self.tenant,
            "actor": self.actor,
            "traceparent": self._traceparent,
            "data": data,
        }
        value = orjson.dumps(fields)
        return WrittenEnvelope(event_id, self.type, self.tenant, subject, self.actor, data, value)
