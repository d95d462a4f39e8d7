"""A restart resumes an unfinished import after its last published batch, never repeating one."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import httpx
import pytest

from crm_importer.adapters.files import UNQUEUED_GRACE, DataFiles
from crm_importer.service_layer.reading import ReadingOptions, process_import
from crm_shared.events import ImportContactsBatch
from tests.importer.conftest import AppFactory
from tests.importer.helpers import job, outbox, upload, wait_for

FIVE_ROWS = b"name\n" + b"".join(f"P{n}\n".encode() for n in range(1, 6))


class Killed(BaseException):
    """Stands for the process dying mid-file (not an error the worker would handle)."""


class _DiesAfter:
    """A text stream that dies after `lines` lines, like a process killed mid-read."""

    def __init__(self, text: IO[str], lines: int) -> None:
        self._text = text
        self._left = lines

    def __iter__(self) -> _DiesAfter:
        return self

    def __next__(self) -> str:
        if self._left == 0:
            raise Killed
        self._left -= 1
        return next(self._text)


class DyingFiles(DataFiles):
    """Data files whose uploads can only be read up to a number of lines."""

    def __init__(self, files: DataFiles, lines: int) -> None:
        super().__init__(files.uploads.parent)
        self._lines = lines

    @contextmanager
    def open_upload(
        self, job_id: str, *, partial: bool = False, encoding: str = "utf-8-sig"
    ) -> Iterator[IO[str]]:
        with super().open_upload(job_id, partial=partial, encoding=encoding) as text:
            yield _DiesAfter(text, self._lines)  # type: ignore[misc]


def _read_to_the_end(state: dict[str, object]) -> bool:
    return state["total_rows_estimated"] is False


async def test_a_restart_resumes_after_the_last_published_batch(running_app: AppFactory) -> None:
    async with running_app(importer_batch_size=2, importer_worker_enabled=False) as first:
        transport = httpx.ASGITransport(app=first)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            job_id = (await upload(client, FIVE_ROWS)).json()["id"]
        options = ReadingOptions(batch_size=2, batch_max_bytes=512 * 1024, suppression_key=b"k")
        # Header + 3 rows: batch 1 (rows 1-2) is committed, row 3 is read when the process dies.
        with pytest.raises(Killed):
            await process_import(
                first.state.store,
                DyingFiles(first.state.files, lines=4),
                tenant="acme",
                job_id=job_id,
                options=options,
            )
        assert len(await outbox(first, ImportContactsBatch.event_type)) == 1

    async with running_app(importer_batch_size=2) as second:
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            state = await wait_for(lambda: job(client, job_id), _read_to_the_end)
        batches = await outbox(second, ImportContactsBatch.event_type)

    assert [b.envelope.data["batch_no"] for b in batches] == [1, 2, 3]
    rows = [[r["name"] for r in b.envelope.data["rows"]] for b in batches]
    assert rows == [["P1", "P2"], ["P3", "P4"], ["P5"]]
    assert state["status"] == "running"


async def test_a_restart_resumes_a_job_that_was_only_queued(running_app: AppFactory) -> None:
    async with running_app(importer_worker_enabled=False) as first:
        transport = httpx.ASGITransport(app=first)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            job_id = (await upload(client, FIVE_ROWS)).json()["id"]
            assert (await job(client, job_id))["status"] == "queued"

    async with running_app() as second:
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            state = await wait_for(lambda: job(client, job_id), _read_to_the_end)
        [batch] = await outbox(second, ImportContactsBatch.event_type)

    assert len(batch.envelope.data["rows"]) == 5
    assert state["status"] == "running"


async def test_a_job_whose_upload_vanished_fails(running_app: AppFactory) -> None:
    async with running_app(importer_worker_enabled=False) as first:
        transport = httpx.ASGITransport(app=first)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            job_id = (await upload(client, FIVE_ROWS)).json()["id"]
        first.state.files.upload_path(job_id).unlink()

    async with running_app() as second:
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            state = await wait_for(lambda: job(client, job_id), lambda j: j["status"] == "failed")
        [finished] = await outbox(second, "crm.importer.import.finished.v1")

    assert "missing" in state["error"]
    assert finished.envelope.data["status"] == "failed"


async def test_a_stale_upload_without_a_job_is_deleted_at_start_up(
    running_app: AppFactory,
) -> None:
    async with running_app() as first:
        stray = first.state.files.upload_path("0000-stray")
        stray.write_text("name\nAda\n")
        # Older than a job takes to be committed after its file was accepted.
        stale = time.time() - UNQUEUED_GRACE - 1
        os.utime(stray, (stale, stale))

    async with running_app():
        assert not stray.exists()
