"""One JSON object per log line: time, level, service, request or event id, tenant, trace id.

Exception messages are left out of the lines on purpose (they may quote personal data): a line
carries the exception's type and its stack, never its text.
"""

from __future__ import annotations

import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

import orjson
from opentelemetry import trace

from crm_shared.observability.context import current_work
from crm_shared.observability.turn_batched import TurnBatchedStreamHandler

# Attributes every LogRecord has; anything else was passed with `extra=` and is kept as a field.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def _exception_fields(exc_info: Any) -> dict[str, str]:
    exc_type, _exc, tb = exc_info
    if exc_type is None:
        return {}
    # Where, not what: file, line and function of each frame (no source text, no message).
    frames = traceback.extract_tb(tb) if tb is not None else []
    stack = " <- ".join(f"{f.filename}:{f.lineno} in {f.name}" for f in reversed(frames))
    return {"exc_type": exc_type.__name__, "stack": stack}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object on one line (newlines in values are escaped)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service
        # The time's text up to its seconds, for the second it was made in: lines come many a
        # second, and formatting a datetime was a fifth of a line's cost.
        self._second = -1
        self._second_text = ""

    def _time(self, created: float) -> str:
        second = int(created)
        # Rounded to the microsecond first, as datetime does (0.6699998 s reads .670).
        micros = round((created - second) * 1_000_000)
        if micros == 1_000_000:
            second, micros = second + 1, 0
        if second != self._second:
            stamp = datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds")
            self._second, self._second_text = second, stamp.removesuffix("+00:00")
        return f"{self._second_text}.{micros // 1000:03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line, with the current request/event, tenant and trace ids."""
        extra = {key: value for key, value in record.__dict__.items() if key not in _STANDARD}
        return self.line(
            record.created,
            record.levelname,
            record.name,
            record.getMessage(),
            extra,
            exc_info=record.exc_info,
        )

    def line(
        self,
        created: float,
        level: str,
        logger: str,
        message: str,
        extra: dict[str, Any],
        *,
        exc_info: Any = None,
    ) -> str:
        """A line's JSON from its parts: what `format` writes for a record holding them."""
        line: dict[str, Any] = {
            "time": self._time(created),
            "level": level,
            "service": self._service,
            "logger": logger,
            "message": message,
        }
        work = current_work()
        if work is not None:
            for name in ("request_id", "event_id", "job_id", "tenant"):
                value = getattr(work, name)
                if value is not None:
                    line[name] = value
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            line["trace_id"] = format(span.trace_id, "032x")
            line["span_id"] = format(span.span_id, "016x")
        for key, value in extra.items():
            if key not in line:
                line[key] = value
        if exc_info:
            line.update(_exception_fields(exc_info))
        return orjson.dumps(line, default=str).decode()


def sole_json_handler(
    logger: logging.Logger, level: int
) -> tuple[TurnBatchedStreamHandler, JsonFormatter] | None:
    """The one handler and JSON formatter every record of `logger` at `level` reaches and
    nothing else sees (no filter, no other handler); None when logging is set up otherwise.

    A line made for them with `JsonFormatter.line` and written with `write_line` is what the
    record would have been: for lines many a second (the access line), without a LogRecord.
    """
    if logger.filters:
        return None
    current: logging.Logger | None = logger
    while current is not None and current.parent is not None:
        if current.handlers or not current.propagate:
            return None
        current = current.parent
    if current is None or len(current.handlers) != 1:
        return None
    handler = current.handlers[0]
    formatter = handler.formatter
    if (
        not isinstance(handler, TurnBatchedStreamHandler)
        or not isinstance(formatter, JsonFormatter)
        or handler.filters
        or level < handler.level
    ):
        return None
    return handler, formatter


def configure_logging(service: str, level: str = "INFO", *, fmt: str = "json") -> None:
    """Send every log record to stderr, one JSON object per line (`fmt="text"`: plain lines)."""
    # Lines made on the event loop are written once per turn of it (turn_batched.py).
    handler = TurnBatchedStreamHandler(sys.stderr)
    if fmt == "text":
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
        )
    else:
        handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    # But group membership at INFO: joins, rebalances, a member the broker forgot. Rare lines that
    # name groups, members and partitions only; without them a consumer waiting on its group (the
    # embedded broker restarted, say) looked silent in the log.
    logging.getLogger("aiokafka.consumer.group_coordinator").setLevel(logging.INFO)
    # httpx logs each request's full URL at INFO: query strings may hold searched names or emails.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # uvicorn's own loggers go through the same handler (their access log is replaced by ours).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
