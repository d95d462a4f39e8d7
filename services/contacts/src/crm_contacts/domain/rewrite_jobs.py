"""Background jobs that rewrite many contacts of a tenant after a definition change.

A tag rename or delete, a tag-rule change, a custom field's type change or purge first commits
the definition (so new writes use it at once), then queues a job that catches up the contacts
already stored, in bounded transactions in id order. The job keeps its cursor (the last
contact id done), its progress and the contacts it could not rewrite, so a restarted service
resumes it where it stopped and no contact is rewritten twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

JobKind = Literal["tag_rename", "tag_delete", "tag_rules", "field_change", "field_purge"]
JOB_KINDS: tuple[str, ...] = get_args(JobKind)
JobStatus = Literal["queued", "running", "completed", "failed"]
ACTIVE: frozenset[str] = frozenset({"queued", "running"})
# The job document keeps the first errors in full (contact id and reason) and counts the rest: a
# field change over a million contacts must not grow one document without bound. Every error is
# also kept as its own record, paged at `GET /v1/jobs/{id}/errors`.
MAX_ERRORS_KEPT = 100
INTERNAL_ERROR = "the job stopped on an internal error; the contacts done so far stay done"


@dataclass(frozen=True)
class RowError:
    """Why one contact could not be rewritten (the reason names the rule, never the value)."""

    contact_id: str
    reason: str


class CannotRewrite(Exception):
    """This contact's data cannot take the change; the job records it and goes on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def new_job(
    *,
    job_id: str,
    tenant: str,
    kind: JobKind,
    params: Mapping[str, Any],
    requested_by: str,
    now: str,
) -> dict[str, Any]:
    """A queued job; `cursor` is the id of the last contact done (None: none yet)."""
    return {
        "id": job_id,
        "tenant": tenant,
        "version": 1,
        "kind": kind,
        "params": dict(params),
        "requested_by": requested_by,
        "status": "queued",
        "cursor": None,
        "total": None,
        "done": 0,
        "changed": 0,
        "failed": 0,
        "errors": [],
        "error": None,
        "created_at": now,
        "started_at": None,
        "finished_at": None,
        "retries": 0,
    }


def started(job: Mapping[str, Any], *, total: int, now: str) -> dict[str, Any]:
    """The job once it runs, with the number of contacts it will look at."""
    return {**job, "status": "running", "total": total, "started_at": now}


def progressed(
    job: Mapping[str, Any],
    *,
    cursor: str | None,
    looked_at: int,
    changed: int,
    errors: list[RowError],
) -> dict[str, Any]:
    """The job after one more batch: its cursor moved past `looked_at` contacts."""
    kept = list(job["errors"])
    room = MAX_ERRORS_KEPT - len(kept)
    kept += [{"contact_id": e.contact_id, "reason": e.reason} for e in errors[: max(room, 0)]]
    done = int(job["done"]) + looked_at
    total = job["total"]
    return {
        **job,
        "cursor": cursor if cursor is not None else job["cursor"],
        "done": done,
        # Contacts created after the count and matching it are done too; total never lags.
        "total": max(int(total), done) if total is not None else done,
        "changed": int(job["changed"]) + changed,
        "failed": int(job["failed"]) + len(errors),
        "errors": kept,
    }


def finished(job: Mapping[str, Any], *, now: str, error: str | None = None) -> dict[str, Any]:
    """The job completed (or failed with `error`)."""
    status: JobStatus = "failed" if error else "completed"
    return {**job, "status": status, "error": error, "finished_at": now}


def retried(job: Mapping[str, Any]) -> dict[str, Any]:
    """A failed job queued again: it resumes after its cursor (the last batch it committed).

    A job that failed before it started counts its contacts again; one that ran keeps its total
    and progress, so `done` goes on from where it stopped.
    """
    status: JobStatus = "running" if job.get("started_at") else "queued"
    return {
        **job,
        "status": status,
        "error": None,
        "finished_at": None,
        "retries": int(job.get("retries") or 0) + 1,
    }


def error_records(job: Mapping[str, Any], errors: list[RowError]) -> list[dict[str, Any]]:
    """One record per error of a batch, numbered after those the job already holds, so the
    job's errors read back in the order found (`error_id`)."""
    first = int(job["failed"])
    return [
        {
            "id": error_id(job["id"], first + n),
            "tenant": job["tenant"],
            "job_id": job["id"],
            "position": first + n,
            "contact_id": e.contact_id,
            "reason": e.reason,
        }
        for n, e in enumerate(errors)
    ]


def error_id(job_id: str, position: int) -> str:
    """The record id of a job's error at `position` (0-based); ids sort in position order."""
    return f"{job_id}:{position:012d}"


# The fewest contacts a time-budgeted batch takes: below this a batch's fixed cost (the job, the
# plan, the commit) would dominate.
LEAST_BATCH = 20
# The first batch of a time-budgeted job, before any has been timed.
FIRST_BATCH = 100


def next_batch_size(size: int, seconds: float, *, budget: float, most: int) -> int:
    """The size of a job's next batch, so that a batch holds the store's writer about `budget`
    seconds: a single write made meanwhile waits at most about one such batch.

    Moves halfway from `size` (which took `seconds`) to the size that would take `budget`, so one
    slow batch (a checkpoint, a busy disk) does not halve the next outright; within
    [LEAST_BATCH, most].
    """
    wanted = most if seconds <= 0 else size * budget / seconds
    return max(min(LEAST_BATCH, most), min(most, round((size + wanted) / 2)))
