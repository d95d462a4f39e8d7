"""What every service's composition root needs: the app shell, the messaging loops, serving."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from crm_shared.auth import ApiKeyAuthenticator, Principal, parse_api_keys
from crm_shared.collection import collect_for_throughput
from crm_shared.http import broker_check, install_health_routes, install_problem_handlers
from crm_shared.http_server import http_protocol
from crm_shared.idempotency import install_idempotency, purge_loop
from crm_shared.leased import LeasedWork
from crm_shared.messaging.bus import MessageBus
from crm_shared.messaging.consumer import EventConsumer
from crm_shared.messaging.kafka import new_producer, prepare_topics
from crm_shared.messaging.relay import OutboxRelay
from crm_shared.observability.http_middleware import ObservabilityMiddleware, metrics_endpoint
from crm_shared.observability.logs import configure_logging
from crm_shared.observability.profiling import profiled
from crm_shared.observability.tracing import configure_tracing
from crm_shared.oidc import OidcConfig, OidcVerifier
from crm_shared.rate_limit import Limit, parse_limits
from crm_shared.rate_limit_store import StoreRateLimiter
from crm_shared.runtime import BackgroundTasks
from crm_shared.settings import PlatformSettings
from crm_shared.storage import DocumentStore
from crm_shared.wiring import consumer_mismatches

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

# ObservabilityMiddleware makes each request's server span, metrics and access line. FastAPI's
# own telemetry, on once a tracer provider is set, added a second server span and one span per
# dependency, endpoint and serialisation to every request.
NO_FASTAPI_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}


@dataclass(frozen=True)
class ConsumerSpec:
    """One consumer group: the topics it reads and the bus that routes what it reads."""

    group: str
    topics: Sequence[str]
    bus: MessageBus


def new_service_app(
    *, title: str, description: str, settings: PlatformSettings, lifespan: Lifespan
) -> FastAPI:
    """A FastAPI app with API-key auth, problem+json errors, health routes and `/metrics`.

    The readiness check reads `app.state.store`, which the lifespan sets; so does the purge of
    expired idempotency keys, started once the service's own lifespan has opened the store. Every
    request gets a request id, a span and its metrics (no key is needed for `/metrics`, like
    `/healthz`).
    """
    # "CRM gdpr service" -> crm-gdpr (OTEL_SERVICE_NAME, when set, wins).
    service = (title.removeprefix("CRM ").split() or ["service"])[0].lower()
    configure_tracing(service)
    app = FastAPI(
        title=title,
        version="1.0.0",
        description=description,
        lifespan=_with_idempotency_purge(lifespan, service=service),
        telemetry=NO_FASTAPI_TELEMETRY,
    )
    app.get("/metrics", include_in_schema=False, tags=["health"])(metrics_endpoint)
    app.state.settings = settings
    app.state.authenticator = authenticator_for(settings)
    # Buckets kept in the service's store (which the lifespan opens), shared by its replicas.
    app.state.rate_limiter = StoreRateLimiter(
        Limit.parse(settings.crm_rate_limit),
        parse_limits(settings.crm_rate_limits),
        store=lambda: app.state.store,
    )
    install_problem_handlers(app)
    install_idempotency(app)
    # Added last, so outermost: what the edge guard refuses is counted and logged too.
    app.add_middleware(ObservabilityMiddleware)

    async def store_ready() -> None:
        store: DocumentStore = app.state.store
        await store.ping()

    install_health_routes(
        app, {"store": store_ready, "broker": broker_check(settings.kafka_bootstrap_servers)}
    )
    return app


def _with_idempotency_purge(lifespan: Lifespan, *, service: str) -> Lifespan:
    @asynccontextmanager
    async def wrapped(app: FastAPI) -> AsyncIterator[None]:
        async with lifespan(app):
            if getattr(app.state, "freeze_gc_after_start", False):
                _freeze_start_up_objects()
            # One replica at a time purges (the holder of the lease).
            leased = LeasedWork(
                app.state.store,
                f"{service}-idempotency-purge",
                lambda: purge_loop(app),
                ttl=app.state.settings.crm_lease_seconds,
            )
            purge = asyncio.create_task(leased.run(), name="idempotency-purge")
            try:
                yield
            finally:
                purge.cancel()
                await asyncio.wait([purge], timeout=5.0)

    return wrapped


def _freeze_start_up_objects() -> None:
    """Leave what start-up built (modules, models, schemas, buses) out of every later garbage
    collection: full collections walked them all, over and over through an import (in process,
    ~0.9 s of gen-2 collections in the audit group's ~1.9 s for 10,000 imported rows; 50 ms
    with them frozen)."""
    gc.collect()
    gc.freeze()


def authenticator_for(settings: PlatformSettings) -> ApiKeyAuthenticator:
    """The keys of CRM_API_KEYS (or the development key) and those of CRM_API_KEYS_FILE."""
    spec = settings.api_keys_spec
    keys: dict[str, Principal] = parse_api_keys(spec) if spec else {}
    key_file = Path(settings.crm_api_keys_file) if settings.crm_api_keys_file else None
    tokens = None
    if settings.crm_oidc_issuer:
        tokens = OidcVerifier(
            OidcConfig(
                issuer=settings.crm_oidc_issuer,
                jwks_url=settings.crm_oidc_jwks_url,
                audience=settings.crm_oidc_audience,
                tenant_claim=settings.crm_oidc_tenant_claim,
                roles_claim=settings.crm_oidc_roles_claim,
                keys_lifespan_seconds=settings.crm_oidc_keys_lifespan_seconds,
            )
        )
    return ApiKeyAuthenticator(keys, key_file=key_file, tokens=tokens)


def start_messaging(
    tasks: BackgroundTasks,
    store: DocumentStore,
    settings: PlatformSettings,
    *,
    service: str,
    consumers: Sequence[ConsumerSpec],
    relay_gather_for: float = 0.0,
) -> None:
    """Start the outbox relay and one consumer per spec; all retry forever in the background.

    `relay_gather_for` (seconds) lets the relay wait that long after a publish, so a service
    that commits many small transactions publishes their events together (see OutboxRelay).

    Raises RuntimeError, starting nothing, if a consumer differs from its declaration in
    crm_shared.wiring (the table the AsyncAPI document is generated from).
    """
    problems = [
        problem
        for spec in consumers
        for problem in consumer_mismatches(service, spec.group, spec.topics, spec.bus.event_types)
    ]
    if problems:
        raise RuntimeError("consumers differ from crm_shared.wiring: " + "; ".join(problems))
    # One relay per service publishes at a time, whatever the number of replicas: it holds the
    # store lease `<service>-outbox-relay` and checks it before each batch.
    lease = LeasedWork(
        store, f"{service}-outbox-relay", lambda: relay.run(), ttl=settings.crm_lease_seconds
    )
    relay = OutboxRelay(
        store,
        lambda: new_producer(settings, client_id=f"{service}-relay"),
        on_reconnect=lambda: prepare_topics(settings),
        may_publish=lease.held,
        gather_for=relay_gather_for,
    )
    tasks.start(lease.name, lease.run())
    for spec in consumers:
        consumer = EventConsumer(settings, group=spec.group, topics=list(spec.topics), bus=spec.bus)
        tasks.start(spec.group, consumer.run())


def serve(app: FastAPI, *, service: str, host: str, port: int, log_level: str) -> None:
    """Configure logging and serve the app until stopped (what `python -m crm_<service>` does)."""
    settings: PlatformSettings = app.state.settings
    configure_logging(service, log_level, fmt=settings.crm_log_format)
    # A process of its own: what its start-up builds stays for its life (an app started in a
    # test process does not freeze the tests' objects).
    app.state.freeze_gc_after_start = True
    # Batches (imports, audit intake, timeline items) allocate in bursts the default rescans.
    collect_for_throughput()
    # log_config=None: uvicorn's records go through our handler (one JSON object per line).
    with profiled(service):
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="warning",
            log_config=None,
            # Ours is ObservabilityMiddleware's line; uvicorn's own, though never written at
            # "warning", still formatted its client address and quoted path for every answer.
            access_log=False,
            # httptools: with a connection's writes made once per loop turn (http_server.py).
            http=http_protocol(settings.crm_http_parser),
            loop=settings.crm_event_loop,
        )
