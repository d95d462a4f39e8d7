"""Log lines: one JSON object each, naming the request or event, the tenant and the trace."""

from __future__ import annotations

import json
import logging

import pytest

from crm_shared.observability.context import WorkContext, current_work, set_tenant, working_on
from crm_shared.observability.logs import configure_logging
from crm_shared.observability.tracing import configure_tracing, tracer
from tests.shared.observability.log_capture import json_logs

log = logging.getLogger("crm.test")


def test_a_line_is_one_json_object_with_time_level_service_and_message() -> None:
    with json_logs("contacts") as lines:
        log.info("import %s batch %d", "job-1", 3)
    (line,) = lines.parsed()
    assert line["service"] == "contacts"
    assert line["level"] == "INFO"
    assert line["message"] == "import job-1 batch 3"
    assert line["time"].endswith("+00:00")
    assert "request_id" not in line and "tenant" not in line


def test_a_line_inside_a_request_names_the_request_the_tenant_and_the_trace() -> None:
    configure_tracing("test")
    with (
        json_logs() as lines,
        working_on(WorkContext(request_id="req-42")),
        tracer().start_as_current_span("work") as span,
    ):
        set_tenant("acme")
        log.warning("something")
    (line,) = lines.parsed()
    assert line["request_id"] == "req-42"
    assert line["tenant"] == "acme"
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")


def test_a_line_inside_an_event_names_the_event() -> None:
    with json_logs() as lines, working_on(WorkContext(event_id="evt-1", tenant="globex")):
        log.info("handled")
    (line,) = lines.parsed()
    assert (line["event_id"], line["tenant"]) == ("evt-1", "globex")


def test_an_exception_keeps_its_type_and_stack_but_never_its_message() -> None:
    with json_logs() as lines:
        try:
            raise ValueError("ada@example.com is not allowed\nsecond line")
        except ValueError:
            log.exception("row failed")
    assert len(lines.raw) == 1, "a multi-line stack must stay on one line"
    (line,) = lines.parsed()
    assert line["exc_type"] == "ValueError"
    assert "test_json_logs.py" in line["stack"]
    assert "ada@example.com" not in lines.raw[0]


def test_configured_logging_writes_json_and_keeps_client_urls_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("importer", "INFO")
        logging.getLogger("httpx").info("HTTP Request: GET http://contacts/v1/contacts?q=ada")
        logging.getLogger("uvicorn.error").warning("server warning")
        log.info("plain line")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["message"] for line in lines] == ["server warning", "plain line"]
    assert {line["service"] for line in lines} == {"importer"}


def test_configured_logging_keeps_group_membership_of_the_kafka_client(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("timeline", "INFO")
        logging.getLogger("aiokafka.consumer.group_coordinator").info("(Re-)joining group g")
        logging.getLogger("aiokafka.consumer.fetcher").info("fetch detail")
        logging.getLogger("aiokafka.conn").info("connection detail")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["message"] for line in lines] == ["(Re-)joining group g"]


def test_a_line_inside_a_job_names_the_job_and_its_tenant() -> None:
    with json_logs() as lines, working_on(WorkContext(job_id="job-9", tenant="acme")):
        log.info("batch published")
    (line,) = lines.parsed()
    assert (line["job_id"], line["tenant"]) == ("job-9", "acme")


def test_a_work_context_is_current_only_inside_its_block_even_when_it_raises() -> None:
    outer, inner = WorkContext(request_id="outer"), WorkContext(request_id="inner")
    with working_on(outer) as entered:
        assert entered is outer and current_work() is outer
        with pytest.raises(KeyError), working_on(inner):
            assert current_work() is inner
            raise KeyError("x")
        assert current_work() is outer
    assert current_work() is None
