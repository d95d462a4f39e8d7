"""Each request: an X-Request-ID, a span joining the caller's trace, metrics on /metrics."""

from __future__ import annotations

import logging
import re

import httpx
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from crm_shared.observability.tracing import trace_id_of
from tests.conftest import auth
from tests.contacts.helpers import Harness
from tests.shared.observability.log_capture import json_logs

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


async def _samples(
    client: httpx.AsyncClient,
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")  # no key: scraped like /healthz
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _created(samples: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> float:
    labels = frozenset({("method", "POST"), ("route", "/v1/contacts"), ("status", "201")})
    return samples.get(("crm_http_requests_total", labels), 0.0)


async def test_a_request_id_given_by_the_caller_comes_back_and_one_is_made_otherwise(
    client: httpx.AsyncClient,
) -> None:
    given = await client.get("/v1/contacts", headers={**auth(), "X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await client.get("/v1/contacts", headers=auth())
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    again = await client.get("/v1/contacts", headers=auth())
    assert again.headers["x-request-id"] != made.headers["x-request-id"]
    unsafe = await client.get("/v1/contacts", headers={**auth(), "X-Request-ID": "a b\tc"})
    assert unsafe.headers["x-request-id"] != "a b\tc"


async def test_a_write_counts_by_route_template_and_its_store_calls_are_timed(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    before = await _samples(client)
    await harness.create(name="Grace Hopper")
    await harness.create(name="Alan Turing")
    after = await _samples(client)
    assert _created(after) - _created(before) == 2
    assert not any("Grace" in str(key) for key in after), "no path or value in a label"
    insert = ("crm_store_operation_duration_seconds_count", frozenset({("operation", "insert")}))
    assert after[insert] > before.get(insert, 0.0)
    timed = (
        "crm_http_request_duration_seconds_count",
        frozenset({("method", "POST"), ("route", "/v1/contacts")}),
    )
    assert after[timed] - before.get(timed, 0.0) == 2


async def test_a_read_by_id_counts_by_route_template_and_times_its_read_block_and_get(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    created = await harness.create(name="Ada Lovelace")
    before = await _samples(client)
    got = await client.get(f"/v1/contacts/{created['id']}", headers=auth())
    missing = await client.get("/v1/contacts/01a230ba-798f-7165-8cd8-089a76caf01d", headers=auth())
    assert (got.status_code, missing.status_code) == (200, 404)
    after = await _samples(client)
    route = ("route", "/v1/contacts/{contact_id}")
    for status in ("200", "404"):
        counted = (
            "crm_http_requests_total",
            frozenset({("method", "GET"), route, ("status", status)}),
        )
        assert after[counted] - before.get(counted, 0.0) == 1
    for operation in ("reader", "get"):
        timed = (
            "crm_store_operation_duration_seconds_count",
            frozenset({("operation", operation)}),
        )
        assert after[timed] - before.get(timed, 0.0) == 2
    assert not any(created["id"] in str(key) for key in after), "no id in a label"


async def test_the_trace_context_of_a_request_reaches_its_events_and_its_log_lines(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    with json_logs("contacts", logging.INFO) as lines:
        response = await client.post(
            "/v1/contacts",
            json={"name": "Katherine Johnson"},
            headers={**auth(), "traceparent": TRACEPARENT, "X-Request-ID": "req-trace-1"},
        )
    assert response.status_code == 201, response.text
    created = await harness.outbox("crm.contacts.contact.created.v1")
    traceparent = created[-1].envelope["traceparent"]
    assert trace_id_of(traceparent) == TRACE_ID
    assert not traceparent.endswith("00f067aa0ba902b7-01"), "the event's parent is our span"
    access = [line for line in lines.parsed() if line.get("request_id") == "req-trace-1"]
    assert access, lines.raw
    assert {line["trace_id"] for line in access} == {TRACE_ID}
    assert {line["tenant"] for line in access} == {"acme"}
    assert any(line["message"] == "POST /v1/contacts 201" for line in access)
    assert "Katherine" not in "\n".join(lines.raw)


async def test_metrics_scrapes_count_under_their_route_and_404s_under_unmatched(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/metrics")
    await client.get("/no/such/path/ada@example.com", headers=auth())
    samples = await _samples(client)
    routes = {
        dict(labels).get("route") for name, labels in samples if name == "crm_http_requests_total"
    }
    assert "/metrics" in routes
    assert "unmatched" in routes
    assert not any("ada@" in str(route) for route in routes)


async def test_an_unexpected_error_is_logged_with_its_request_id_and_no_exception_text(
    app: FastAPI,
) -> None:
    async def boom() -> None:
        raise RuntimeError("grace@example.com broke it")

    app.add_api_route("/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with json_logs("contacts") as lines:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/boom", headers={"X-Request-ID": "req-boom"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-boom"
    (line,) = [line for line in lines.parsed() if line.get("exc_type") == "RuntimeError"]
    assert line["request_id"] == "req-boom"
    assert "grace@" not in "\n".join(lines.raw)


async def test_a_body_the_edge_guard_refuses_still_gets_a_request_id_and_is_counted(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/contacts",
        content=b'{"name": "\\u0000"}',
        headers={**auth(), "content-type": "application/json", "X-Request-ID": "req-edge"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["x-request-id"] == "req-edge"


async def test_each_read_by_id_gets_its_access_line_and_counts_under_its_route(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    created = await harness.create(name="Mary Jackson", email="mary@example.com")
    path = f"/v1/contacts/{created['id']}"
    labels = frozenset(
        {("method", "GET"), ("route", "/v1/contacts/{contact_id}"), ("status", "200")}
    )
    series = ("crm_http_requests_total", labels)
    before = (await _samples(client)).get(series, 0.0)
    with json_logs("contacts", logging.INFO) as lines:
        for n in range(3):
            response = await client.get(path, headers={**auth(), "X-Request-ID": f"req-read-{n}"})
            assert response.status_code == 200, response.text
    assert (await _samples(client))[series] - before == 3
    access = [line for line in lines.parsed() if line["logger"] == "crm.access"]
    assert [line["request_id"] for line in access] == ["req-read-0", "req-read-1", "req-read-2"]
    for line in access:
        assert line["message"] == "GET /v1/contacts/{contact_id} 200"
        assert line["level"] == "INFO" and line["tenant"] == "acme"
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
    # The test client's own httpx lines quote the URL; the service's lines never do.
    written = "\n".join(line for line in lines.raw if '"logger":"httpx"' not in line)
    assert created["id"] not in written and "Mary" not in written and "mary@" not in written
