"""`make run` shows each JSON log line as a short readable one; other lines pass unchanged."""

from __future__ import annotations

import orjson

from crm_shared.observability.readable import readable_line


def test_a_json_line_reads_as_time_level_message_then_its_context() -> None:
    line = orjson.dumps(
        {
            "time": "2026-11-30T00:28:22.307+00:00",
            "level": "INFO",
            "service": "contacts",
            "logger": "crm.access",
            "message": "POST /v1/contacts 201",
            "request_id": "r-1",
            "tenant": "acme",
            "trace_id": "5b8a",
            "span_id": "d412",
            "duration_ms": 7.5,
        }
    ).decode()
    assert readable_line(line + "\n") == (
        "00:28:22.307 INFO POST /v1/contacts 201  [request_id=r-1 tenant=acme trace_id=5b8a"
        "  duration_ms=7.5]\n"
    )


def test_a_line_that_is_not_a_json_log_record_is_left_as_it_is() -> None:
    for line in ("Uvicorn running\n", "{not json\n", '{"no": "message"}\n', "[1, 2]\n"):
        assert readable_line(line) == line
