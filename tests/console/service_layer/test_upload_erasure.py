"""Held uploads take no part in the erasure saga: their bounded life erases them (the note
in crm_shared.held_uploads, quoted by every access bundle). These tests hold the rule to it."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from crm_console.adapters.repositories import COLLECTION_SPECS
from crm_console.service_layer.sessions import purge_expired
from crm_console.service_layer.uploads import Reader, hold_upload
from crm_console.settings import ConsoleSettings
from crm_shared.held_uploads import MAX_HOLD_MINUTES
from crm_shared.storage.sqlite import SqliteStore
from tests.polling import eventually

PERSON = b"Name,Email\nGrace Hopper,grace.hopper@example.com\n"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(str(tmp_path / "console.sqlite3"))
    await opened.start(COLLECTION_SPECS)
    try:
        yield opened
    finally:
        await opened.close()


def _reader(content: bytes) -> Reader:
    stream = io.BytesIO(content)

    async def read(size: int) -> bytes:
        return stream.read(size)

    return read


def _store_bytes(tmp_path: Path) -> bytes:
    """Everything the store wrote to disk: the database, its log and shared memory."""
    return b"".join(p.read_bytes() for p in tmp_path.glob("console.sqlite3*") if p.is_file())


def test_the_hold_cannot_be_set_past_the_bound_the_bundle_promises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONSOLE_UPLOAD_HOLD_MINUTES", str(MAX_HOLD_MINUTES + 1))
    with pytest.raises(ValidationError, match="console_upload_hold_minutes"):
        ConsoleSettings()
    monkeypatch.setenv("CONSOLE_UPLOAD_HOLD_MINUTES", str(MAX_HOLD_MINUTES))
    assert ConsoleSettings().console_upload_hold_minutes == MAX_HOLD_MINUTES


async def test_a_held_upload_leaves_the_store_files_once_its_hold_ends(
    store: SqliteStore, tmp_path: Path
) -> None:
    stored = base64.b64encode(PERSON)  # what the store keeps of the file
    await hold_upload(
        store,
        owner="s1",
        filename="people.csv",
        read=_reader(PERSON),
        max_bytes=10_000,
        hold_for=timedelta(seconds=-1),  # its hold ended as it was stored
    )
    before = _store_bytes(tmp_path)
    assert stored in before and b"grace.hopper@example.com" in before  # parts, sample rows

    assert await purge_expired(store) == 2  # the description and its one part

    # The purge has the store forget the deleted pages (its log is truncated in the background).
    await eventually(lambda: stored not in _store_bytes(tmp_path), within=30, what="forgotten")
    after = _store_bytes(tmp_path)
    assert b"grace.hopper@example.com" not in after and b"Grace Hopper" not in after
