"""A rewrite job's progress: cursor, counts, errors kept up to a bound, the end."""

from __future__ import annotations

from crm_contacts.domain.rewrite_jobs import (
    LEAST_BATCH,
    MAX_ERRORS_KEPT,
    RowError,
    finished,
    new_job,
    next_batch_size,
    progressed,
    started,
)
from crm_contacts.domain.tag_aliases import aliases_of, with_tag_aliases
from crm_shared.storage import Contains, ContainsAny, Eq, Not


def _job() -> dict[str, object]:
    job = new_job(
        job_id="j1", tenant="acme", kind="tag_rename", params={}, requested_by="key:a", now="t0"
    )
    return started(job, total=10, now="t1")


def test_a_batch_moves_the_cursor_and_the_counts() -> None:
    job = progressed(_job(), cursor="c4", looked_at=4, changed=3, errors=[RowError("c2", "no fit")])
    assert (job["cursor"], job["done"], job["changed"], job["failed"]) == ("c4", 4, 3, 1)
    assert job["errors"] == [{"contact_id": "c2", "reason": "no fit"}]
    assert (job["status"], job["started_at"]) == ("running", "t1")


def test_an_empty_last_batch_keeps_the_cursor() -> None:
    job = progressed(_job(), cursor="c4", looked_at=4, changed=4, errors=[])
    assert progressed(job, cursor=None, looked_at=0, changed=0, errors=[])["cursor"] == "c4"


def test_errors_are_counted_all_but_kept_up_to_the_bound() -> None:
    many = [RowError(f"c{n}", "no fit") for n in range(MAX_ERRORS_KEPT + 5)]
    job = progressed(_job(), cursor="z", looked_at=len(many), changed=0, errors=many)
    assert (job["failed"], len(job["errors"])) == (MAX_ERRORS_KEPT + 5, MAX_ERRORS_KEPT)


def test_total_grows_with_contacts_created_during_the_job() -> None:
    job = progressed(_job(), cursor="z", looked_at=12, changed=12, errors=[])
    assert (job["done"], job["total"]) == (12, 12)


def test_a_job_completes_or_fails_with_its_reason() -> None:
    assert finished(_job(), now="t2")["status"] == "completed"
    failed = finished(_job(), now="t2", error="stopped")
    assert (failed["status"], failed["error"], failed["finished_at"]) == ("failed", "stopped", "t2")


def test_conditions_on_a_renamed_tag_also_match_its_previous_names() -> None:
    aliases = aliases_of([{"name": "Gold", "previous_names": ["VIP"]}, {"name": "Lead"}])
    where = [
        Contains("tags_norm", "gold"),
        ContainsAny("tags_norm", ("gold", "lead")),
        Not(ContainsAny("tags_norm", ("gold",))),
        Contains("tags_norm", "lead"),
        Eq("owner", "gold"),
    ]
    assert with_tag_aliases(where, aliases) == [
        ContainsAny("tags_norm", ("gold", "vip")),
        ContainsAny("tags_norm", ("gold", "lead", "vip")),
        Not(ContainsAny("tags_norm", ("gold", "vip"))),
        Contains("tags_norm", "lead"),
        Eq("owner", "gold"),
    ]


def test_batches_move_halfway_towards_the_size_that_takes_the_time_budget() -> None:
    assert next_batch_size(500, 0.2, budget=0.05, most=500) == 312  # 125 wanted: halfway
    assert next_batch_size(312, 0.0125, budget=0.05, most=500) == 500  # 1,248 wanted, capped
    assert next_batch_size(100, 0.05, budget=0.05, most=500) == 100  # on budget: kept
    assert next_batch_size(40, 5.0, budget=0.05, most=500) == LEAST_BATCH  # never below
    assert next_batch_size(5, 5.0, budget=0.05, most=8) == 8  # a batch size below the floor
    assert next_batch_size(10, 0.0, budget=0.05, most=500) == 255  # no time: halfway to most


def test_repeated_batches_settle_on_the_size_that_takes_the_budget() -> None:
    size, per_contact = 500, 0.0004  # 400 µs a contact: 125 contacts in 50 ms
    for _ in range(12):
        size = next_batch_size(size, size * per_contact, budget=0.05, most=500)
    assert abs(size - 125) <= 1
