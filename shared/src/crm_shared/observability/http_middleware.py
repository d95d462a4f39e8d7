"""Per request: an `X-Request-ID` (in and out), a server span, metrics and one access line."""

from __future__ import annotations

import logging
import random
import re
import time
from typing import Any

from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_shared.observability.context import WorkContext, working_on
from crm_shared.observability.logs import sole_json_handler
from crm_shared.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS
from crm_shared.observability.tracing import context_from, span

log = logging.getLogger("crm.access")

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = REQUEST_ID_HEADER.encode()
# A caller's request id is kept only if it is short and plain (it ends up in logs and headers).
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# Probes and scrapes answer often; their access lines are debug-level.
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


class _Series:
    """What one (method, route, status) records: its metric children, span name, access line."""

    __slots__ = ("_record", "count", "latency", "level", "level_name", "line", "name", "route")

    def __init__(self, method: str, route: str, status: int) -> None:
        # Looked up once: `labels()` takes a lock and builds its key on every call.
        self.count = HTTP_REQUESTS.labels(method, route, str(status))
        self.latency = HTTP_LATENCY.labels(method, route)
        self.name = f"{method} {route}"
        self.route = route
        self.line = f"{method} {route} {status}"  # the access line's message, made once
        self.level = logging.DEBUG if route in _QUIET_ROUTES else logging.INFO
        self.level_name = logging.getLevelName(self.level)
        self._record: dict[str, Any] | None = None

    def access_record(self, duration_ms: float) -> logging.LogRecord:
        """The access line's record: a copy of this series' first, with its own time.

        LogRecord() looks up the time, the file's base name and extension, the process, the
        thread and its name for every line, the same for every access line of the loop's thread
        but the time: a third of the line's cost. The copy changes only the time and duration.
        """
        now = time.time()
        if self._record is None:
            made = log.makeRecord(log.name, self.level, "", 0, self.line, (), None)
            self._record = dict(made.__dict__)
        record: logging.LogRecord = _bare_record()
        fields = record.__dict__
        fields.update(self._record)
        fields["relativeCreated"] += (now - fields["created"]) * 1000
        fields["created"], fields["msecs"] = now, (now - int(now)) * 1000
        fields["duration_ms"] = duration_ms
        return record


# Series kept for reuse, at most this many: methods are whatever a client sends.
_KEPT_SERIES = 1024


class _SeriesCache:
    """Each (method, route, status)'s _Series, made on its first request."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str, int], _Series] = {}

    def get(self, method: str, route: str, status: int) -> _Series:
        key = (method, route, status)
        series = self._kept.get(key)
        if series is None:
            series = _Series(method, route, status)
            if len(self._kept) < _KEPT_SERIES:
                self._kept[key] = series
        return series


def _new_request_id() -> str:
    """32 random hex digits, as uuid4().hex gave.

    From the process's generator, as span ids are (tracing.span): os.urandom is a system call
    that lets go of the GIL, so with the store's reader thread waiting for it each request paid
    a hand-over of the GIL and back (~225 us of wall time a GET, at 64 concurrent, in process).
    A request id names a request in logs; it guards nothing, so it need not be unguessable.
    """
    return f"{random.getrandbits(128):032x}"


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class ObservabilityMiddleware:
    """Pure ASGI (it runs in the request's task, so the context it sets reaches the handlers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._series = _SeriesCache()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request inside its work context and span; record its metrics."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = traceparent = tracestate = None
        for key, value in scope.get("headers", ()):  # one pass for the three headers read
            if key == _REQUEST_ID:
                given = value.decode("latin-1")
            elif key == b"traceparent":
                traceparent = value.decode("latin-1")
            elif key == b"tracestate":
                tracestate = value.decode("latin-1")
        request_id = given if given and _SAFE_REQUEST_ID.match(given) else _new_request_id()
        method: str = scope["method"]
        # Also where the 500 handler (outside this middleware) finds it: request.state.request_id.
        scope.setdefault("state", {})["request_id"] = request_id
        parent = context_from(traceparent, tracestate)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", ()))
                headers.append((_REQUEST_ID, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with (
            working_on(WorkContext(request_id=request_id)),
            span(method, parent=parent, kind=trace.SpanKind.SERVER) as request_span,
        ):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                series = self._series.get(method, _route_template(scope), status)
                # Spans that are not exported only carry ids: nothing to name or attribute.
                if request_span.is_recording():
                    request_span.update_name(series.name)
                    request_span.set_attribute("http.request.method", method)
                    request_span.set_attribute("http.route", series.route)
                    request_span.set_attribute("http.response.status_code", status)
                series.count.inc()
                series.latency.observe(elapsed)
                if log.isEnabledFor(series.level):
                    _access_line(series, elapsed)


def _bare_record() -> logging.LogRecord:
    return logging.LogRecord.__new__(logging.LogRecord)


def _access_line(series: _Series, elapsed: float) -> None:
    duration_ms = round(elapsed * 1000, 2)
    direct = sole_json_handler(log, series.level)
    if direct is not None:
        # Logging set up as a service sets it (one JSON handler, no filter): the line its record
        # would give, made without one. The record, its handling and its formatting were 60%
        # of the line's cost.
        handler, formatter = direct
        extra = {"duration_ms": duration_ms}
        handler.write_line(
            formatter.line(time.time(), series.level_name, log.name, series.line, extra)
        )
        return
    # Made by hand rather than with log.log(): that also walks the stack for the caller's file
    # and line (findCaller), a fifth of the line's cost, which an access line never names.
    log.handle(series.access_record(duration_ms))


async def metrics_endpoint() -> Response:
    """The process's Prometheus series, in the text exposition format (no key needed)."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
