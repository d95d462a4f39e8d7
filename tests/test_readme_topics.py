"""README's topic table names every topic and every event type the platform publishes."""

from __future__ import annotations

from pathlib import Path

from crm_shared.events.registry import EVENT_TYPES
from crm_shared.topics import ALL_TOPICS

README = Path(__file__).resolve().parents[1] / "README.md"


def _table() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("| topic ")
    return text[start : text.index("\n\n", start)]


def test_every_topic_has_a_row() -> None:
    table = _table()
    for topic in ALL_TOPICS:
        assert f"`{topic.name}`" in table, topic.name


def test_every_event_type_is_named_in_its_topics_row() -> None:
    rows = {row.split("|")[1].strip(" `"): row for row in _table().splitlines()[2:]}
    for event_type, model in EVENT_TYPES.items():
        family, _, name = event_type.removeprefix("crm.").removesuffix(".v1").rpartition(".")
        row = rows[model.topic]
        assert f"`{family}.{name}`" in row or (f"`{family}." in row and f"`.{name}`" in row), (
            event_type
        )
