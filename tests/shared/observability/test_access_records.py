"""The access line's record: a copy of its series' first, with its own time and duration."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from crm_shared.observability.context import WorkContext, set_tenant, working_on
from crm_shared.observability.http_middleware import _access_line, _Series, log
from crm_shared.observability.logs import JsonFormatter
from crm_shared.observability.turn_batched import TurnBatchedStreamHandler
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


@contextmanager
def _service_logging() -> Iterator[io.StringIO]:
    """The root logger as configure_logging sets it (one turn-batched JSON handler), alone."""
    stream = io.StringIO()
    handler = TurnBatchedStreamHandler(stream)
    handler.setFormatter(JsonFormatter("svc"))
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        handler.flush()
        root.handlers[:] = saved
        root.setLevel(level)


def _access_lines(*, through_a_filter: bool) -> list[dict[str, Any]]:
    seen: list[logging.LogRecord] = []

    def keep(record: logging.LogRecord) -> bool:
        seen.append(record)
        return True

    if through_a_filter:
        log.addFilter(keep)
    else:
        log.handle = seen.append  # type: ignore[method-assign,assignment]  # never called
    try:
        with _service_logging() as stream, working_on(WorkContext(request_id="req-1")):
            set_tenant("acme")
            _access_line(_Series("GET", "/v1/contacts/{contact_id}", 404), 0.0042)
            logging.getLogger().handlers[0].flush()
    finally:
        log.removeFilter(keep)
        vars(log).pop("handle", None)
    assert len(seen) == (1 if through_a_filter else 0)
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_an_access_line_written_without_a_record_is_the_one_its_record_gives() -> None:
    (direct,) = _access_lines(through_a_filter=False)
    (recorded,) = _access_lines(through_a_filter=True)  # a filter must see the record: one made
    assert direct.pop("time") <= recorded.pop("time")
    assert direct == recorded
    assert list(direct) == [
        "level",
        "service",
        "logger",
        "message",
        "request_id",
        "tenant",
        "duration_ms",
    ]
    assert direct["message"] == "GET /v1/contacts/{contact_id} 404"  # the template, not the path
    assert (direct["level"], direct["logger"], direct["duration_ms"]) == ("INFO", "crm.access", 4.2)


def test_an_access_line_goes_through_logging_when_another_handler_listens() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    with _service_logging() as stream:
        logging.getLogger().addHandler(keep := Keep())
        _access_line(_Series("GET", "/x", 200), 0.001)
        logging.getLogger().handlers[0].flush()
        logging.getLogger().removeHandler(keep)
    assert [r.getMessage() for r in records] == ["GET /x 200"]
    assert json.loads(stream.getvalue())["message"] == "GET /x 200"
