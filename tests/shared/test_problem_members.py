"""An error's extra fields never replace the members RFC 9457 defines for every problem."""

from __future__ import annotations

from crm_shared.problems import Conflict


def test_an_extra_named_like_a_problem_member_does_not_replace_it() -> None:
    error = Conflict(
        "job j1 is completed",
        extra={"status": "completed", "title": "x", "type": "y", "job_id": "j1"},
    )
    body = error.to_problem(instance="/v1/jobs/j1/retry")
    assert body["status"] == 409  # an integer, as every problem's schema declares
    assert (body["title"], body["type"]) == ("Conflict", "https://crm.example/problems/conflict")
    assert (body["instance"], body["job_id"]) == ("/v1/jobs/j1/retry", "j1")
