"""Held uploads in the console's store: header read first, bytes kept whole, owner only."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from crm_console.adapters.repositories import COLLECTION_SPECS, UPLOAD_PARTS
from crm_console.domain.csv_head import UnreadableCsv
from crm_console.service_layer.sessions import purge_expired
from crm_console.service_layer.uploads import (
    PART_BYTES,
    Reader,
    UploadTooLarge,
    held_upload,
    hold_upload,
    release_upload,
    upload_file,
)
from crm_shared.storage import DocumentStore
from crm_shared.storage.sqlite import SqliteStore

HOUR = timedelta(hours=1)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[DocumentStore]:
    opened = SqliteStore(str(tmp_path / "console.sqlite3"))
    await opened.start(COLLECTION_SPECS)
    try:
        yield opened
    finally:
        await opened.close()


async def _count_parts(store: DocumentStore) -> int:
    async with store.reader() as reader:
        return await reader.count(UPLOAD_PARTS, tenant="console")


async def test_the_header_and_first_rows_are_read_and_only_the_owner_gets_the_file(
    store: DocumentStore,
) -> None:
    content = "\ufeffName, Email\nAda,a@x.io\nBob,b@x.io\n".encode()

    held = await hold_upload(
        store,
        owner="s1",
        filename="p.csv",
        read=_reader(content),
        max_bytes=10_000,
        hold_for=HOUR,
    )

    assert held.headers == ["Name", "Email"]
    assert held.samples == [["Ada", "a@x.io"], ["Bob", "b@x.io"]]
    assert await held_upload(store, held.token, owner="s2") is None
    assert await held_upload(store, held.token, owner="s1") == held
    await release_upload(store, held.token)
    assert await held_upload(store, held.token, owner="s1") is None
    assert await _count_parts(store) == 0


async def test_a_file_of_several_parts_comes_back_byte_for_byte(store: DocumentStore) -> None:
    rows = b"".join(b"Person %d,p%d@example.com\n" % (i, i) for i in range(100_000))
    content = b"Name,Email\n" + rows
    assert len(content) > 3 * PART_BYTES

    held = await hold_upload(
        store, owner="s1", filename="big.csv", read=_reader(content), max_bytes=2**24, hold_for=HOUR
    )

    assert held.size == len(content)
    async with upload_file(store, held) as copy:
        assert copy.read() == content


async def test_a_file_over_the_limit_is_refused_and_nothing_is_kept(store: DocumentStore) -> None:
    content = b"Name\n" + b"x" * 1000 + b"\n" + b"y" * (3 * PART_BYTES)

    with pytest.raises(UploadTooLarge, match="larger than 2 MB"):
        await hold_upload(
            store,
            owner="s1",
            filename="p.csv",
            read=_reader(content),
            max_bytes=2 * 2**20,
            hold_for=HOUR,
        )

    assert await _count_parts(store) == 0


async def test_an_expired_upload_is_not_offered_and_the_purge_deletes_it(
    store: DocumentStore,
) -> None:
    held = await hold_upload(
        store,
        owner="s1",
        filename="p.csv",
        read=_reader(b"Name\nAda\n"),
        max_bytes=1000,
        hold_for=timedelta(seconds=-1),
    )

    assert await held_upload(store, held.token, owner="s1") is None
    assert await purge_expired(store) == 2  # the description and its one part
    assert await _count_parts(store) == 0


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\n\n", "no header row"),
        (b"", "empty"),
        ("Name\nJos\xe9\n".encode("latin-1"), "not UTF-8"),
    ],
)
async def test_a_file_without_a_readable_header_is_refused(
    store: DocumentStore, content: bytes, reason: str
) -> None:
    with pytest.raises(UnreadableCsv, match=reason):
        await hold_upload(
            store,
            owner="s1",
            filename="p.csv",
            read=_reader(content),
            max_bytes=1000,
            hold_for=HOUR,
        )
    assert await _count_parts(store) == 0


def _reader(content: bytes) -> Reader:
    stream = io.BytesIO(content)

    async def read(size: int) -> bytes:
        return stream.read(size)

    return read
