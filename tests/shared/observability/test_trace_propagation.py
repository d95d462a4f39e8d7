"""The trace context: into events' envelopes, out of incoming ones, onto calls to other services."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crm_shared.events import ContactDeleted
from crm_shared.observability import tracing
from crm_shared.observability.context import WorkContext, working_on
from crm_shared.observability.tracing import (
    configure_tracing,
    context_from,
    current_traceparent,
    propagate_trace,
    span,
    trace_id_of,
    tracer,
)
from crm_shared.outbox import CONTACTS_SOURCE, outgoing

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def _deleted() -> ContactDeleted:
    return ContactDeleted(contact_id="c-1", version=1)


def test_an_event_made_outside_any_span_carries_no_trace_context() -> None:
    configure_tracing("test")
    assert current_traceparent() is None
    event = outgoing(_deleted(), source=CONTACTS_SOURCE, tenant="acme", key="c-1", actor=None)
    assert event.envelope.traceparent is None
    assert b'"traceparent":null' in event.envelope.to_bytes()


def test_an_event_made_in_a_span_continues_the_trace_it_was_made_in() -> None:
    configure_tracing("test")
    with tracer().start_as_current_span("write", context=context_from(TRACEPARENT)) as span:
        event = outgoing(_deleted(), source=CONTACTS_SOURCE, tenant="acme", key="c-1", actor=None)
    traceparent = event.envelope.traceparent
    assert traceparent is not None and trace_id_of(traceparent) == TRACE_ID
    assert traceparent.split("-")[2] == format(span.get_span_context().span_id, "016x")


def test_a_malformed_or_missing_traceparent_starts_no_remote_parent() -> None:
    assert context_from(None) is None
    assert context_from("not-a-traceparent") is None
    assert context_from(f"00-{'0' * 32}-00f067aa0ba902b7-01") is None
    assert context_from(f"ff-{TRACE_ID}-00f067aa0ba902b7-01") is None
    assert context_from(f"{TRACEPARENT}-extra") is None  # version 00 has exactly four parts
    assert context_from(TRACEPARENT.upper()) is None
    assert context_from(f"01-{TRACE_ID}-00f067aa0ba902b7-01-future") is not None
    parent = context_from(TRACEPARENT)
    assert parent is not None
    assert format(trace.get_current_span(parent).get_span_context().trace_id, "032x") == TRACE_ID


async def test_a_call_to_another_service_carries_the_trace_and_the_request_id() -> None:
    configure_tracing("test")
    request = httpx.Request("GET", "http://contacts/v1/contacts")
    with (
        working_on(WorkContext(request_id="req-7")),
        tracer().start_as_current_span("export", context=context_from(TRACEPARENT)),
    ):
        await propagate_trace(request)
    assert trace_id_of(request.headers["traceparent"]) == TRACE_ID
    assert request.headers["x-request-id"] == "req-7"


def test_without_an_exporter_a_span_carries_ids_only_in_its_parent_s_trace() -> None:
    with span("process", parent=context_from(TRACEPARENT), kind=trace.SpanKind.CONSUMER) as ids:
        assert not ids.is_recording()
        traceparent = current_traceparent()
    assert traceparent is not None and trace_id_of(traceparent) == TRACE_ID
    assert traceparent.split("-")[2] not in ("00f067aa0ba902b7", "0" * 16)
    with span("root", parent=None, kind=trace.SpanKind.SERVER):
        assert trace_id_of(current_traceparent() or "") not in (None, TRACE_ID)
    assert current_traceparent() is None


def test_with_an_exporter_a_span_is_recorded_as_a_child_of_its_parent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    monkeypatch.setattr(tracing, "_exporting", True)
    monkeypatch.setattr(tracing, "tracer", lambda: provider.get_tracer("test"))
    with span("process x", parent=context_from(TRACEPARENT), kind=trace.SpanKind.CONSUMER):
        pass
    (recorded,) = exported.get_finished_spans()
    assert recorded.name == "process x"
    assert format(recorded.context.trace_id, "032x") == TRACE_ID
    assert recorded.parent is not None and recorded.parent.span_id == 0x00F067AA0BA902B7


def test_an_ids_only_span_is_current_only_inside_its_block_even_when_it_raises() -> None:
    before = trace.get_current_span()
    with span("outer", parent=None, kind=trace.SpanKind.INTERNAL) as outer:
        assert trace.get_current_span() is outer
        with pytest.raises(KeyError), span("inner", parent=None, kind=trace.SpanKind.INTERNAL):
            raise KeyError("x")
        assert trace.get_current_span() is outer
    assert trace.get_current_span() is before
