"""Capture log records as the services write them: JSON lines, formatted when emitted."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from crm_shared.observability.logs import JsonFormatter


class JsonLines:
    """The JSON log lines written while capturing."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def raw(self) -> list[str]:
        """Every line as written."""
        return self.stream.getvalue().splitlines()

    def parsed(self) -> list[dict[str, Any]]:
        """Every line parsed (fails the test if one is not a JSON object)."""
        return [json.loads(line) for line in self.raw]


@contextmanager
def json_logs(service: str = "test", level: int = logging.INFO) -> Iterator[JsonLines]:
    """Route the root logger through the JSON formatter for the duration of the block."""
    lines = JsonLines()
    handler = logging.StreamHandler(lines.stream)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
