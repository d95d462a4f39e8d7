"""The access line's record: a copy of its series' first, with its own time and duration."""

from __future__ import annotations

import logging
import time

from crm_shared.observability.http_middleware import _access_line, _Series, log
from tests.shared.observability.log_capture import json_logs


def test_each_access_line_has_its_own_time_and_duration_and_a_records_fields() -> None:
    series = _Series("GET", "/things/{thing_id}", 200)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    log.addHandler(keep)
    try:
        with json_logs("svc", logging.INFO) as lines:
            _access_line(series, 0.0015)
            time.sleep(0.01)
            _access_line(series, 0.25)
    finally:
        log.removeHandler(keep)
    first, second = lines.parsed()
    assert first["message"] == second["message"] == "GET /things/{thing_id} 200"
    assert (first["duration_ms"], second["duration_ms"]) == (1.5, 250.0)
    assert second["time"] > first["time"]
    assert records[1].created - records[0].created >= 0.01
    made = log.makeRecord(log.name, logging.INFO, "", 0, "GET /things/{thing_id} 200", (), None)
    for field in ("name", "levelno", "levelname", "msg", "process", "thread", "threadName"):
        assert getattr(records[1], field) == getattr(made, field)
    assert abs(records[1].relativeCreated - made.relativeCreated) < 1000
