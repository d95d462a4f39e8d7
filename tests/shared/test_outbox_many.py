"""`outgoing_many` builds the envelopes `outgoing` builds, one id each, one time for all."""

from __future__ import annotations

from opentelemetry import trace

from crm_shared.events import ContactDeleted, ContactRestored
from crm_shared.observability.tracing import span
from crm_shared.outbox import CONTACTS_SOURCE, outgoing, outgoing_many


def test_the_envelopes_match_one_by_one_building_but_for_id_and_time() -> None:
    payloads = [
        (ContactDeleted(contact_id="c1", version=3), "c1"),
        (ContactRestored(contact_id="c2", version=4), "c2"),
    ]
    with span("write", parent=None, kind=trace.SpanKind.INTERNAL):
        many = outgoing_many(payloads, source=CONTACTS_SOURCE, tenant="acme", actor="import:j")
        one_by_one = [
            outgoing(data, source=CONTACTS_SOURCE, tenant="acme", key=key, actor="import:j")
            for data, key in payloads
        ]
    skip = {"id", "time"}
    for built, expected in zip(many, one_by_one, strict=True):
        assert (built.topic, built.key) == (expected.topic, expected.key)
        assert built.envelope.model_dump(exclude=skip) == expected.envelope.model_dump(exclude=skip)
        assert built.envelope.traceparent is not None
    assert len({e.envelope.id for e in many}) == 2
    assert many[0].envelope.time == many[1].envelope.time
