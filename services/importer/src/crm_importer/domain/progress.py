"""An import's progress as people read it: rows expected, rows done, speed and time left.

Until the whole file is read, the total is an estimate: the upload's size divided by the average
size of the rows in its first bytes (a sample after the header). Multi-line cells make it rough;
it becomes exact once the reader reaches the end of the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_importer.domain.jobs import ImportJob


def estimate_rows(sample: bytes, file_bytes: int) -> int | None:
    """Data rows a file of `file_bytes` probably holds, from its first bytes; None if unknown."""
    header_end = sample.find(b"\n")
    if header_end < 0:
        return None
    body = sample[header_end + 1 :]
    if len(sample) >= file_bytes:  # the sample is the whole file: count, do not guess
        return body.count(b"\n") + (1 if body and not body.endswith(b"\n") else 0)
    # The last line of a sample is usually cut: count only the complete ones.
    complete = body[: body.rfind(b"\n") + 1]
    lines = complete.count(b"\n")
    if lines == 0:
        return None
    return round((file_bytes - header_end - 1) * lines / len(complete))


@dataclass(frozen=True)
class Progress:
    """The figures a client shows while an import runs."""

    total_rows: int | None
    total_rows_estimated: bool
    rows_per_second: float | None
    eta_seconds: float | None


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def progress(job: ImportJob, now: str) -> Progress:
    """The job's progress at `now`: the (estimated) total, rows per second and time left."""
    estimated = job.total_rows is None
    total = job.total_rows
    if estimated and job.estimated_rows is not None:
        # Never below what was already read: the estimate only guides a progress bar.
        total = max(job.estimated_rows, job.rows_read)
    rate: float | None = None
    if job.started_at is not None:
        elapsed = _seconds_between(job.started_at, job.finished_at or now)
        if elapsed > 0 and job.processed_rows:
            rate = job.processed_rows / elapsed
    eta: float | None = None
    if job.finished:
        eta = 0.0
    elif rate and total is not None:
        eta = max(total - job.processed_rows, 0) / rate
    return Progress(
        total_rows=total, total_rows_estimated=estimated, rows_per_second=rate, eta_seconds=eta
    )
