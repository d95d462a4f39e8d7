"""One JSON log line made readable for a terminal (what `make run` prints; files keep JSON)."""

from __future__ import annotations

from typing import Any

import orjson

_SHOWN = ("time", "level", "service", "logger", "message")
_CONTEXT = ("request_id", "event_id", "job_id", "tenant", "trace_id")


def readable_line(line: str) -> str:
    """`12:01:02.345 INFO message  request_id=... tenant=...`; anything not JSON is unchanged."""
    text = line.rstrip("\n")
    if not text.startswith("{"):
        return line
    try:
        record: Any = orjson.loads(text)
    except orjson.JSONDecodeError:
        return line
    if not isinstance(record, dict) or "message" not in record:
        return line
    clock = str(record.get("time", ""))[11:23]
    context = [f"{name}={record[name]}" for name in _CONTEXT if record.get(name)]
    extra = [
        f"{key}={value}"
        for key, value in record.items()
        if key not in _SHOWN and key not in _CONTEXT and key != "span_id"
    ]
    parts = [clock, str(record.get("level", "")), str(record["message"])]
    tail = "  ".join(" ".join(group) for group in (context, extra) if group)
    return " ".join(p for p in parts if p) + (f"  [{tail}]" if tail else "") + "\n"
