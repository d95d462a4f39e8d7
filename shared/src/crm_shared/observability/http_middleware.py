"""Per request: an `X-Request-ID` (in and out), a server span, metrics and one access line."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_shared.observability.context import WorkContext, working_on
from crm_shared.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS
from crm_shared.observability.tracing import context_from, span

log = logging.getLogger("crm.access")

REQUEST_ID_HEADER = "x-request-id"
# A caller's request id is kept only if it is short and plain (it ends up in logs and headers).
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# Probes and scrapes answer often; their access lines are debug-level.
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def _route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class ObservabilityMiddleware:
    """Pure ASGI (it runs in the request's task, so the context it sets reaches the handlers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request inside its work context and span; record its metrics."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, REQUEST_ID_HEADER.encode())
        request_id = given if given and _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        method: str = scope["method"]
        # Also where the 500 handler (outside this middleware) finds it: request.state.request_id.
        scope.setdefault("state", {})["request_id"] = request_id
        parent = context_from(_header(scope, b"traceparent"), _header(scope, b"tracestate"))
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id.encode()))
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
                route = _route_template(scope)
                request_span.update_name(f"{method} {route}")
                request_span.set_attribute("http.request.method", method)
                request_span.set_attribute("http.route", route)
                request_span.set_attribute("http.response.status_code", status)
                HTTP_REQUESTS.labels(method, route, str(status)).inc()
                HTTP_LATENCY.labels(method, route).observe(elapsed)
                log.log(
                    logging.DEBUG if route in _QUIET_ROUTES else logging.INFO,
                    "%s %s %d",
                    method,
                    route,
                    status,
                    extra={"duration_ms": round(elapsed * 1000, 2)},
                )


async def metrics_endpoint() -> Response:
    """The process's Prometheus series, in the text exposition format (no key needed)."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
