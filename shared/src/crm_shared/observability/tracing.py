"""OpenTelemetry traces across HTTP and Kafka; exported only when the OTEL_* variables ask for it.

The W3C trace context travels in each event's envelope as the CloudEvents distributed-tracing
extension attribute `traceparent`, so a write, its outbox publish and each consumer's handling in
the other services belong to one trace. Spans always get ids (logs carry the trace id); they
leave the process only with `OTEL_TRACES_EXPORTER=console|otlp` or an OTLP endpoint set.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
from collections.abc import Awaitable, Callable
from contextvars import Token

import httpx
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

from crm_shared.observability.context import current_work

log = logging.getLogger(__name__)

_exporting = False


_cached: tuple[trace.TracerProvider, trace.Tracer] | None = None


def tracer() -> trace.Tracer:
    """The tracer the platform's spans come from (made once per tracer provider)."""
    global _cached
    provider = trace.get_tracer_provider()
    if _cached is None or _cached[0] is not provider:
        _cached = (provider, provider.get_tracer("crm"))
    return _cached[1]


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
    exporter = _exporter(_exporter_name())
    # Not exported: spans are sampled out unless the caller's trace is sampled. They still get
    # ids (for log lines and the events' traceparent) at a quarter of a recorded span's cost.
    sampler = None
    if exporter is None and not os.environ.get("OTEL_TRACES_SAMPLER"):
        sampler = ParentBased(ALWAYS_OFF)
    provider = TracerProvider(resource=Resource.create(attributes), sampler=sampler)
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
        global _exporting
        _exporting = True
    trace.set_tracer_provider(provider)


def spans_exported() -> bool:
    """Whether spans leave the process (spans only seen through their ids can be skipped)."""
    return _exporting


# Written and read by hand rather than through the propagator: an import makes one event per
# row, and the propagator's inject costs several times a span's creation.
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span, or None outside any span."""
    span = trace.get_current_span().get_span_context()
    if not span.is_valid:
        return None
    return f"00-{span.trace_id:032x}-{span.span_id:016x}-{int(span.trace_flags):02x}"


def context_from(traceparent: str | None, tracestate: str | None = None) -> Context | None:
    """The remote parent a W3C `traceparent` names (None when absent or malformed)."""
    match = _TRACEPARENT.match(traceparent.strip()) if traceparent else None
    if match is None:
        return None
    version, trace_hex, span_hex, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if not trace_id or not span_id:
        return None
    state = TraceState.from_header([tracestate]) if tracestate else None
    parent = SpanContext(
        trace_id, span_id, is_remote=True, trace_flags=TraceFlags(int(flags, 16)), trace_state=state
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


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


def span(
    name: str,
    *,
    parent: Context | None,
    kind: trace.SpanKind,
    attributes: dict[str, str] | None = None,
) -> contextlib.AbstractContextManager[trace.Span]:
    """A span around a unit of work, child of `parent` (or of the current span when None).

    While spans are not exported, it only carries ids (a new span id in the parent's trace, or a
    new trace): what log lines and events need, at a fraction of a recorded span's cost, which
    matters when every row of an import becomes events that three consumers handle.
    """
    if _exporting:
        return tracer().start_as_current_span(
            name, context=parent, kind=kind, attributes=attributes
        )
    return _IdsOnly(parent)


class _IdsOnly:
    """A span that only carries ids, current inside the block.

    A class rather than a generator context manager: every request and every handled event
    opens one, and the generator's machinery cost more than the ids.
    """

    __slots__ = ("_parent", "_token")

    def __init__(self, parent: Context | None) -> None:
        self._parent = parent
        self._token: Token[Context] | None = None

    def __enter__(self) -> trace.Span:
        above = trace.get_current_span(self._parent).get_span_context()
        ids = SpanContext(
            above.trace_id if above.is_valid else random.getrandbits(128) or 1,
            random.getrandbits(64) or 1,
            is_remote=False,
            trace_flags=above.trace_flags if above.is_valid else TraceFlags(0),
            trace_state=above.trace_state if above.is_valid else None,
        )
        ids_only = NonRecordingSpan(ids)
        self._token = otel_context.attach(trace.set_span_in_context(ids_only, self._parent))
        return ids_only

    def __exit__(self, *exc_info: object) -> None:
        assert self._token is not None
        otel_context.detach(self._token)
