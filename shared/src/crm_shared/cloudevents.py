"""The CloudEvents Kafka protocol binding: how an envelope sits in a record, in both modes.

Structured mode (what this platform produces): the whole envelope is the JSON value and the
`content-type` header is `application/cloudevents+json`. Binary mode (what other products may
send): the attributes travel as `ce_<name>` headers, the value is the data alone, and
`content-type` holds the data's media type. Per the binding, a record whose `content-type` does not
start with `application/cloudevents` is binary mode. Both parse into the same EventEnvelope.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson

from crm_shared.envelope import CONTENT_TYPE, EventEnvelope
from crm_shared.events.contacts import (
    IMPORT_EVENT_TYPE_BYTES,
    IMPORT_JOB_HEADER,
    written_import_job,
)

CONTENT_TYPE_HEADER = "content-type"
CE_PREFIX = "ce_"
TYPE_HEADER = "ce_type"
STRUCTURED_PREFIX = "application/cloudevents"
# The header every record this platform produces carries (structured mode).
STRUCTURED_HEADERS: tuple[tuple[str, bytes], ...] = ((CONTENT_TYPE_HEADER, CONTENT_TYPE.encode()),)

Headers = Sequence[tuple[str, bytes]]


class MalformedData(ValueError):
    """A binary-mode record whose value is not a JSON object (no value is quoted)."""


def header(headers: Headers | None, name: str) -> str | None:
    """The first header `name` (case-insensitive) as text, or None."""
    for key, value in headers or ():
        if key.lower() == name:
            return value.decode("utf-8", errors="replace")
    return None


def has_header(headers: Headers | None, name: str) -> bool:
    """Whether a header `name` (lower-case; matched case-insensitively) is among `headers`."""
    return any(key.lower() == name for key, _ in headers or ())


def with_structured_content_type(headers: Headers | None) -> list[tuple[str, bytes]]:
    """`headers` with `content-type: application/cloudevents+json` instead of any other one."""
    kept = [(k, v) for k, v in headers or () if k.lower() != CONTENT_TYPE_HEADER]
    return [*kept, *STRUCTURED_HEADERS]


def structured_headers(value: bytes, headers: Headers | None) -> list[tuple[str, bytes]]:
    """The headers of a structured-mode record: the CloudEvents content type, `ce_type` when
    the value names its type where this platform's envelopes do (`envelope_type`), and for an
    import's per-contact event its job (`IMPORT_JOB_HEADER`, `written_import_job`).

    `ce_type` lets a consumer group pass over the types it does not handle without parsing
    them, the job header the events an import's summaries report; the value stays the whole
    envelope, so readers that ignore the headers lose nothing.
    """
    event_type = envelope_type(value)
    if not headers:
        # What the outbox holds for nearly every event: no headers of its own to keep or check.
        kept = [*STRUCTURED_HEADERS]
        if event_type is not None:
            kept.append((TYPE_HEADER, event_type))
    else:
        kept = with_structured_content_type(headers)
        if event_type is not None and not any(k.lower() == TYPE_HEADER for k, _ in kept):
            kept.append((TYPE_HEADER, event_type))
    if event_type in IMPORT_EVENT_TYPE_BYTES:
        job = written_import_job(value)
        if job is not None:
            kept.append((IMPORT_JOB_HEADER, job))
    return kept


# How every envelope this platform writes begins (EventEnvelope's and EnvelopeWriter's field
# order): the type is the fourth attribute, after the id and the source. Each string up to the
# type is free of quotes and backslashes, so its first quote ends it: the bytes found are the
# top-level attributes, never text inside a value.
_ENVELOPE_HEAD = re.compile(
    rb'\{"specversion":"1\.0","id":"[^"\\]*","source":"[^"\\]*","type":"([^"\\]+)"'
)


def envelope_type(value: bytes) -> bytes | None:
    """The `type` of an envelope in this platform's own layout, read without parsing it; None
    for any other layout (one anchored match: the relay reads it off every record it sends)."""
    head = _ENVELOPE_HEAD.match(value)
    return None if head is None else head.group(1)


def declared_type(headers: Headers | None) -> str | None:
    """The event type a record's `ce_type` header names (either mode), or None without one."""
    return header(headers, TYPE_HEADER)


def is_binary_mode(headers: Headers | None) -> bool:
    """Whether a record is binary mode: no `content-type` starting with application/cloudevents."""
    content_type = header(headers, CONTENT_TYPE_HEADER) or ""
    return not content_type.strip().lower().startswith(STRUCTURED_PREFIX)


def envelope_from_record(value: bytes | None, headers: Headers | None) -> EventEnvelope:
    """The envelope of a record in either mode.

    Raises pydantic.ValidationError for a malformed envelope (structured JSON included) and
    MalformedData when a binary-mode value is not a JSON object.
    """
    if not carries_binary_event(headers):
        # Structured, or a record with neither mode's marks: read the value as the envelope, so
        # a producer that omits the header still gets the structured reading it meant.
        return EventEnvelope.from_bytes(value or b"")
    return EventEnvelope.model_validate(binary_attributes(value, headers))


def binary_attributes(value: bytes | None, headers: Headers | None) -> dict[str, Any]:
    """The envelope attributes of a binary-mode record: `ce_*` headers plus the value as data."""
    attributes: dict[str, Any] = {}
    for key, raw in headers or ():
        name = key.lower()
        if name.startswith(CE_PREFIX) and len(name) > len(CE_PREFIX):
            attributes.setdefault(name[len(CE_PREFIX) :], raw.decode("utf-8", errors="replace"))
    content_type = header(headers, CONTENT_TYPE_HEADER)
    if content_type:
        attributes["datacontenttype"] = content_type
    try:
        data = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        raise MalformedData("binary-mode data is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedData("binary-mode data is not a JSON object")
    attributes["data"] = data
    return attributes


def binary_record(envelope: EventEnvelope) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The value and headers of `envelope` in binary mode (what another product may send)."""
    attributes = envelope.model_dump(mode="json", exclude_none=True)
    data = attributes.pop("data")
    content_type = attributes.pop("datacontenttype", "application/json")
    headers = [(f"{CE_PREFIX}{name}", str(value).encode()) for name, value in attributes.items()]
    headers.append((CONTENT_TYPE_HEADER, str(content_type).encode()))
    return orjson.dumps(data), headers


def carries_binary_event(headers: Headers | None) -> bool:
    """Binary mode with `ce_*` attributes: a record to read from its headers, not its value."""
    marked = any(key.lower().startswith(CE_PREFIX) for key, _ in headers or ())
    return marked and is_binary_mode(headers)
