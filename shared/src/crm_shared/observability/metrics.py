"""The Prometheus series every service exposes on `/metrics` (names are what dashboards use).

One process runs one service, so the series live in the process's default registry; tests that
run several apps in one process read differences, never absolute values.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# HTTP: by route template (never the raw path, which holds ids) and status.
HTTP_REQUESTS = Counter(
    "crm_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "crm_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# Consumers.
CONSUMER_LAG = Gauge(
    "crm_consumer_lag",
    "Records on a partition not yet consumed by the group (highwater - position)",
    ["group", "topic", "partition"],
)
CONSUMED = Counter(
    "crm_consumer_messages_total",
    "Records a consumer group finished with, by outcome (handled, ignored, dead_lettered)",
    ["group", "outcome"],
)
DEAD_LETTERED = Counter(
    "crm_dead_lettered_messages_total",
    "Records sent to the dead-letter topic, by consumer group and reason",
    ["group", "reason"],
)

# Outbox.
OUTBOX_BACKLOG = Gauge("crm_outbox_backlog", "Outbox entries waiting to be published")
OUTBOX_OLDEST_AGE = Gauge(
    "crm_outbox_oldest_age_seconds", "Age of the oldest outbox entry not yet published (0 if none)"
)
OUTBOX_PUBLISHED = Counter(
    "crm_outbox_published_total", "Outbox entries published and acknowledged by the broker"
)

# Jobs.
DERIVED_BACKFILL = Counter(
    "crm_derived_backfill_contacts_total",
    "Stored contacts the derived-fields backfill read, by outcome (rewritten, unchanged)",
    ["outcome"],
)
IMPORT_ROWS = Counter(
    "crm_import_rows_total",
    "Import rows whose result is known, by outcome (created, updated, skipped, failed)",
    ["outcome"],
)
JOBS_FINISHED = Counter(
    "crm_jobs_finished_total",
    "Background jobs finished, by kind (import, export, erasure, bulk) and status",
    ["kind", "status"],
)
JOBS_STARTED = Counter(
    "crm_jobs_started_total",
    "Background jobs accepted, by kind (import, export, erasure, bulk)",
    ["kind"],
)

# Store.
STORE_LATENCY = Histogram(
    "crm_store_operation_duration_seconds",
    "Time of one storage port call (a transaction or read snapshot counts as a whole)",
    ["operation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
