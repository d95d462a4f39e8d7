"""A contact remembers the latest imports that created or changed it."""

from __future__ import annotations

from typing import Any

from crm_contacts.domain.import_marks import MAX_IMPORT_IDS, mark_imported


def test_an_import_is_added_once_and_moves_to_the_end() -> None:
    doc: dict[str, Any] = {"import_ids": ["a", "b"]}

    mark_imported([doc], "a")
    mark_imported([doc], "c")

    assert doc["import_ids"] == ["b", "a", "c"]


def test_only_the_latest_imports_are_kept() -> None:
    doc: dict[str, Any] = {}
    for n in range(MAX_IMPORT_IDS + 5):
        mark_imported([doc], f"job-{n}")

    assert doc["import_ids"] == [f"job-{n}" for n in range(5, MAX_IMPORT_IDS + 5)]
