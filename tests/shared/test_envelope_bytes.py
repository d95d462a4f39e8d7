"""The envelope's wire bytes: what orjson wrote over model_dump(mode="json"), byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from crm_shared.envelope import EventEnvelope
from crm_shared.events import ContactCreated, ContactProfile

AWKWARD_VALUES: list[Any] = [
    1.5,
    1e20,
    1e-7,
    0.1,
    123456789.123456789,
    2**62,
    -0.0,
    3.0,
    5e-324,
    'Ødegaard ß 😀 \u2028 "quoted" \\ back',
    None,
    True,
    [1, {"a": []}],
]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2025, 1, 1, 1, 2, 3, 456, tzinfo=timezone(timedelta(hours=2))),
        datetime(2025, 1, 1, 1, 2, 3, tzinfo=UTC),
    ],
    ids=["offset and microseconds", "whole seconds in UTC"],
)
def test_to_bytes_writes_what_orjson_wrote_for_awkward_values(moment: datetime) -> None:
    envelope = EventEnvelope(
        id="e-1",
        source="crm/test",
        type="crm.test.v1",
        time=moment,
        tenant="acme",
        actor="key:ops",
        data={"values": AWKWARD_VALUES, "nested": {"values": AWKWARD_VALUES}},
    )

    assert envelope.to_bytes() == orjson.dumps(envelope.model_dump(mode="json"))


def test_a_wrapped_event_round_trips_through_its_bytes() -> None:
    created = ContactCreated(
        contact_id="c-1", version=1, source="manual", profile=ContactProfile(name="Ødegaard")
    )
    envelope = EventEnvelope.wrap(created, source="crm/contacts", tenant="acme", subject="c-1")

    assert EventEnvelope.from_bytes(envelope.to_bytes()) == envelope
