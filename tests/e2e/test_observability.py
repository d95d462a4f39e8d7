"""The platform observed from outside: JSON log lines, one trace across services, /metrics.

The walkthrough runs here too, with every handled event logged, and then every log line of the
run is searched for the personal values it seeded: there must be none.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e import test_walkthrough as walkthrough
from tests.e2e.conftest import RunningPlatform, eventually, start_platform

pytestmark = pytest.mark.e2e

TRACE_ID = "5b8aa5a2d2c872e8321cf37308d69df2"
TRACEPARENT = f"00-{TRACE_ID}-051581bf3cb55c13-01"
TRACED_PERSON = {"name": "Ottoline Brackenbury", "email": "ottoline.b@example.net"}
IMPORTED = [
    ("Philippa Wintergreen", "philippa.w@example.net", "+14155550177"),
    ("Barnaby Fothergill", "barnaby.f@example.net", "+14155550178"),
]
SERVICE_LINE = re.compile(r"^\[(contacts|timeline|importer|gdpr)\] (.*)$")
REQUIRED_FIELDS = {"time", "level", "service", "logger", "message"}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """The platform with one log line per handled event (so consumers' lines can be checked)."""
    stack = start_platform(tmp_path_factory.mktemp("observed"), env={"CRM_LOG_EVENTS": "true"})
    try:
        yield stack
    finally:
        stack.platform.stop()
        stack.broker.stop()


def _service_lines(log_path: Path) -> list[tuple[str, dict[str, object]]]:
    lines = []
    for raw in log_path.read_text(errors="replace").splitlines():
        match = SERVICE_LINE.match(raw)
        if match:
            lines.append((match.group(1), json.loads(match.group(2))))
    return lines


def _metrics(client: httpx.Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(f"{client.base_url}/metrics", timeout=10)  # no key needed
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _sum(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def test_a_trace_started_by_a_request_reaches_the_consumers_of_every_other_service(
    running: RunningPlatform,
) -> None:
    contacts = running.client("contacts")
    created = contacts.post(
        "/v1/contacts",
        json=TRACED_PERSON,
        headers={"traceparent": TRACEPARENT, "X-Request-ID": "e2e-traced-write"},
    )
    assert created.status_code == 201, created.text
    assert created.headers["x-request-id"] == "e2e-traced-write"
    # Personal values in query strings (a search, an export's filter) must not reach the logs.
    assert contacts.get("/v1/contacts", params={"q": TRACED_PERSON["email"]}).status_code == 200
    importer = running.client("importer")
    export = importer.post(
        "/v1/exports", json={"fields": ["id", "name"], "filter": {"q": TRACED_PERSON["email"]}}
    )
    assert export.status_code == 202, export.text
    export_id = export.json()["id"]
    eventually(
        lambda: importer.get(f"/v1/exports/{export_id}").json()["status"] == "completed",
        what="the export to complete",
    )

    def traced_services() -> set[str]:
        return {
            service
            for service, line in _service_lines(running.log_path)
            if line.get("trace_id") == TRACE_ID and line.get("event_id")
        }

    seen = eventually(
        lambda: (found := traced_services()) >= {"timeline", "gdpr"} and found,
        what="consumer log lines in the write's trace in timeline and gdpr",
    )
    assert "timeline" in seen and "gdpr" in seen
    write_lines = [
        line
        for service, line in _service_lines(running.log_path)
        if service == "contacts" and line.get("request_id") == "e2e-traced-write"
    ]
    assert write_lines and all(line["trace_id"] == TRACE_ID for line in write_lines)
    assert all(line["tenant"] == "acme" for line in write_lines)


def test_metrics_move_during_an_import(running: RunningPlatform) -> None:
    importer, contacts = running.client("importer"), running.client("contacts")
    before_importer, before_contacts = _metrics(importer), _metrics(contacts)
    upload = io.StringIO()
    writer = csv.writer(upload)
    writer.writerow(["name", "email", "phone"])
    writer.writerows(IMPORTED)
    started = importer.post(
        "/v1/imports", files={"file": ("people.csv", upload.getvalue().encode(), "text/csv")}
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    eventually(
        lambda: importer.get(f"/v1/imports/{job_id}").json()["status"] == "completed",
        what="the import to complete",
    )
    after_importer, after_contacts = _metrics(importer), _metrics(contacts)

    def moved(before: dict, after: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
        return _sum(after, name, **labels) - _sum(before, name, **labels)

    assert moved(before_importer, after_importer, "crm_import_rows_total", outcome="created") == 2
    assert (
        moved(
            before_importer,
            after_importer,
            "crm_jobs_finished_total",
            kind="import",
            status="completed",
        )
        == 1
    )
    assert moved(before_importer, after_importer, "crm_outbox_published_total") >= 1
    assert (
        moved(
            before_importer,
            after_importer,
            "crm_http_requests_total",
            route="/v1/imports",
            status="202",
        )
        == 1
    )
    assert (
        moved(before_contacts, after_contacts, "crm_consumer_messages_total", outcome="handled")
        >= 1
    )
    assert moved(before_contacts, after_contacts, "crm_store_operation_duration_seconds_count") > 0
    assert any(n == "crm_consumer_lag" for n, _ in after_contacts)
    assert any(n == "crm_outbox_backlog" for n, _ in after_importer)


def test_the_walkthrough_leaves_no_personal_value_in_any_log_line(
    running: RunningPlatform,
) -> None:
    walkthrough.test_a_contact_walks_through_the_whole_platform_and_is_erased(running)

    seeded = [
        *walkthrough._personal_values(),
        "Link Newcomer",
        "link.newcomer@example.org",
        "4155550199",
        "Zelda Duplicate",
        *TRACED_PERSON.values(),
        *(value.lstrip("+1") for row in IMPORTED for value in row),
    ]
    text = running.log_path.read_text(errors="replace").lower()
    # As typed, and as they would appear in a logged URL.
    forms = {form.lower() for value in seeded for form in (value, quote(value), quote_plus(value))}
    leaks = sorted(form for form in forms if form in text)
    assert not leaks, f"personal values in the platform's log lines: {leaks}"

    lines = _service_lines(running.log_path)
    assert {service for service, _ in lines} == {"contacts", "timeline", "importer", "gdpr"}
    for _, line in lines:
        assert line.keys() >= REQUIRED_FIELDS, line
    assert any(line.get("event_id") for _, line in lines)
