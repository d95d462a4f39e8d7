"""The import job's bookkeeping: chunks, batch numbers, results, completion."""

from __future__ import annotations

from crm_importer.domain.jobs import ImportChunk, ImportJob
from crm_importer.domain.mapping import plan_columns
from crm_importer.domain.rows import MappedRow, RowFailure
from crm_shared.events import ImportRow, RowResult

NOW = "2026-01-01T00:00:00.000000Z"


def new_job() -> ImportJob:
    return ImportJob(
        id="j1",
        tenant="acme",
        on_duplicate="skip",
        plan=plan_columns(["name"], None),
        created_at=NOW,
    )


def mapped(n: int, size: int = 10) -> MappedRow:
    return MappedRow(ImportRow(row_number=n, name=f"P{n}").model_dump(mode="json"), size)


def chunk_of(rows: int, failures: int = 0, last: int = 0) -> ImportChunk:
    chunk = ImportChunk(max_rows=1000, max_bytes=100_000, max_row_bytes=1000)
    for n in range(1, rows + 1):
        chunk.add(n, mapped(n))
    for n in range(rows + 1, rows + failures + 1):
        chunk.add(n, RowFailure(n, "bad", {}))
    if last:
        chunk.add(last, None)
    return chunk


def results(*statuses: str) -> list[RowResult]:
    return [RowResult(row_number=n, status=s) for n, s in enumerate(statuses, 1)]


def test_a_chunk_is_full_at_the_row_count() -> None:
    chunk = ImportChunk(max_rows=2, max_bytes=100_000, max_row_bytes=1000)
    chunk.add(1, mapped(1))
    assert not chunk.full
    chunk.add(2, mapped(2))
    assert chunk.full


def test_a_chunk_is_full_before_its_bytes_could_overflow() -> None:
    chunk = ImportChunk(max_rows=1000, max_bytes=1000, max_row_bytes=400)

    chunk.add(1, mapped(1, size=500))
    assert not chunk.full
    chunk.add(2, mapped(2, size=100))
    assert chunk.full  # one more row of up to 400 bytes could exceed 1000


def test_a_chunk_is_full_when_failures_pile_up() -> None:
    chunk = ImportChunk(max_rows=2, max_bytes=100_000, max_row_bytes=1000)
    chunk.add(1, RowFailure(1, "bad", {}))
    chunk.add(2, RowFailure(2, "bad", {}))

    assert chunk.full


def test_blank_records_only_move_the_resume_point() -> None:
    job = new_job()

    assert job.record_chunk(chunk_of(rows=0, last=4)) is None
    assert (job.records_read, job.rows_read, job.batches_published) == (4, 0, 0)


def test_each_chunk_with_rows_gets_the_next_batch_number() -> None:
    job = new_job()

    assert job.record_chunk(chunk_of(rows=2)) == 1
    assert job.record_chunk(chunk_of(rows=1, failures=1)) == 2
    assert (job.published_rows, job.rows_read, job.status) == (3, 4, "running")


def test_local_failures_count_as_processed_and_failed() -> None:
    job = new_job()

    job.record_chunk(chunk_of(rows=1, failures=2))

    assert (job.processed_rows, job.failed) == (2, 2)


def test_a_job_completes_only_once_the_file_is_read_and_every_row_has_a_result() -> None:
    job = new_job()
    job.record_chunk(chunk_of(rows=2))
    job.apply_results(1, results("created", "skipped"))
    assert not job.settle(NOW)  # the total is not known yet

    job.finish_reading()

    assert job.settle(NOW)
    assert (job.status, job.total_rows, job.created, job.skipped) == ("completed", 2, 1, 1)
    assert not job.settle(NOW)  # completes once


def test_the_same_batch_is_counted_once() -> None:
    job = new_job()

    assert job.apply_results(1, results("created"))
    assert not job.apply_results(1, results("created"))
    assert (job.processed_rows, job.created) == (1, 1)


def test_the_finished_event_carries_the_counts() -> None:
    job = new_job()
    job.record_chunk(chunk_of(rows=2, failures=1))
    job.finish_reading()
    job.apply_results(1, results("created", "updated"))
    job.settle(NOW)

    event = job.finished_event()

    assert event.model_dump() == {
        "job_id": "j1",
        "status": "completed",
        "total_rows": 3,
        "created": 1,
        "updated": 1,
        "skipped": 0,
        "failed": 1,
        "cancelled": False,
    }


def test_a_failed_job_announces_failure() -> None:
    job = new_job()

    job.fail("gone", NOW)

    assert job.finished
    assert job.finished_event().status == "failed"
