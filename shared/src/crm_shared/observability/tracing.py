"""OpenTelemetry traces across HTTP and Kafka; exported only when the OTEL_* variables ask for it.

The W3C trace context travels in each event's envelope as the CloudEvents distributed-tracing
extension attribute `traceparent`, so a write, its outbox publish and each consumer's handling in
the other services belong to one trace. Spans always get ids (logs carry the trace id); they
leave the process only with `OTEL_TRACES_EXPORTER=console|otlp` or an OTLP endpoint set.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable

import httpx
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from crm_shared.observability.context import current_work

log = logging.getLogger(__name__)

_propagator = TraceContextTextMapPropagator()
_exporting = False


def tracer() -> trace.Tracer:
    """The tracer the platform's spans come from."""
    return trace.get_tracer("crm")


def _exporter_name() -> str:
    name = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if name:
        return name
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return "otlp" if endpoint else "none"


def _exporter(name: str) -> SpanExporter | None:
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning("OTLP trace export asked for but not installed: install crm-shared[otlp]")
            return None
        exporter: SpanExporter = OTLPSpanExporter()
        return exporter  # endpoint, headers and timeout from the OTEL_* variables
    if name != "none":
        log.warning("unsupported OTEL_TRACES_EXPORTER %r; traces are not exported", name)
    return None


def configure_tracing(service: str) -> None:
    """Install the process's tracer provider once (the first service configured names it)."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": f"crm-{service}"}
    provider = TracerProvider(resource=Resource.create(attributes))
    exporter = _exporter(_exporter_name())
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
        global _exporting
        _exporting = True
    trace.set_tracer_provider(provider)


def spans_exported() -> bool:
    """Whether spans leave the process (spans only seen through their ids can be skipped)."""
    return _exporting


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span, or None outside any sampled span."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def context_from(traceparent: str | None, tracestate: str | None = None) -> Context | None:
    """The remote parent a `traceparent` names (None when absent or malformed)."""
    if not traceparent:
        return None
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    context = _propagator.extract(carrier)
    if not trace.get_current_span(context).get_span_context().is_valid:
        return None
    return context


def trace_id_of(traceparent: str) -> str | None:
    """The 32-hex-digit trace id inside a `traceparent` (None when malformed)."""
    parts = traceparent.split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


async def propagate_trace(request: httpx.Request) -> None:
    """An httpx request hook: the call to another service joins the current trace and request."""
    traceparent = current_traceparent()
    if traceparent is not None:
        request.headers["traceparent"] = traceparent
    work = current_work()
    if work is not None and work.request_id is not None:
        request.headers.setdefault("x-request-id", work.request_id)


TRACE_HOOKS: dict[str, list[Callable[[httpx.Request], Awaitable[None]]]] = {
    "request": [propagate_trace]
}
