"""The CloudEvents Kafka binding: structured and binary records parse into the same envelope."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from crm_shared.cloudevents import (
    binary_record,
    carries_binary_event,
    envelope_from_record,
    is_binary_mode,
    with_structured_content_type,
)
from crm_shared.envelope import CONTENT_TYPE, EventEnvelope
from crm_shared.events import ActivityRecorded
from crm_shared.messaging.consumer import parse_record
from crm_shared.messaging.errors import PermanentMessageError


def _activity() -> EventEnvelope:
    data = ActivityRecorded(
        contact_id="c-1",
        activity_type="conversation",
        occurred_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        summary="Asked about pricing",
    )
    return EventEnvelope.wrap(
        data, source="chat-product", tenant="acme", subject="c-1", actor="bot"
    )


def test_a_binary_record_parses_into_the_same_envelope_as_the_structured_one() -> None:
    envelope = _activity()
    value, headers = binary_record(envelope)

    assert carries_binary_event(headers)
    assert dict(headers)["ce_tenant"] == b"acme" and "ce_id" in dict(headers)
    assert orjson.loads(value) == envelope.data  # the value is the data alone
    assert parse_record(value, headers) == envelope
    assert parse_record(envelope.to_bytes(), [("content-type", CONTENT_TYPE.encode())]) == envelope


def test_header_names_are_case_insensitive_and_content_type_is_the_data_type() -> None:
    envelope = _activity()
    value, headers = binary_record(envelope)
    shouted = [(name.upper(), raw) for name, raw in headers]

    parsed = envelope_from_record(value, shouted)

    assert parsed.id == envelope.id and parsed.tenant == "acme"
    assert parsed.datacontenttype == "application/json"


def test_a_structured_content_type_wins_over_stray_ce_headers() -> None:
    envelope = _activity()
    headers = [
        ("ce_id", b"other"),
        ("content-type", b"application/cloudevents+json; charset=utf-8"),
    ]

    assert not is_binary_mode(headers)
    assert envelope_from_record(envelope.to_bytes(), headers).id == envelope.id


def test_a_record_without_headers_is_read_as_a_structured_envelope() -> None:
    envelope = _activity()
    assert envelope_from_record(envelope.to_bytes(), None) == envelope


@pytest.mark.parametrize(
    ("value", "reason", "fields"),
    [
        (b"not json, ada@example.com", "malformed-json", ("data",)),
        (b"[1, 2]", "malformed-json", ("data",)),
    ],
)
def test_binary_data_that_is_not_a_json_object_is_permanent_and_quotes_nothing(
    value: bytes, reason: str, fields: tuple[str, ...]
) -> None:
    _, headers = binary_record(_activity())
    with pytest.raises(PermanentMessageError) as raised:
        parse_record(value, headers)

    assert (raised.value.reason, raised.value.fields) == (reason, fields)
    assert "ada@example.com" not in str(raised.value)


def test_binary_headers_missing_required_attributes_name_them() -> None:
    value, headers = binary_record(_activity())
    without = [(k, v) for k, v in headers if k not in ("ce_id", "ce_time")]

    with pytest.raises(PermanentMessageError) as raised:
        parse_record(value, without)

    assert (raised.value.reason, raised.value.fields) == ("malformed-envelope", ("id", "time"))


def test_the_structured_content_type_replaces_any_other_and_keeps_other_headers() -> None:
    headers = with_structured_content_type([("Content-Type", b"text/plain"), ("trace", b"1")])
    assert headers == [("trace", b"1"), ("content-type", CONTENT_TYPE.encode())]
