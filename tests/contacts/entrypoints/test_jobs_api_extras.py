"""`/v1/jobs` over HTTP: a job's errors paged, a failed job retried (Idempotency-Key, 409 when not
failed), and a tag name refused while a delete job still removes it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from crm_contacts.service_layer import rewrite_jobs, rewrite_plans
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.bulk_support import seed
from tests.contacts.custom_field_support import define_field
from tests.contacts.helpers import Harness
from tests.contacts.job_support import job_finished
from tests.openapi_documents import OpenApiDocuments
from tests.polling import eventually


async def _tag(harness: Harness, name: str) -> dict[str, Any]:
    response = await harness.client.post("/v1/tags", json={"name": name}, headers=auth(EDITOR_KEY))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_jobs_errors_are_paged_to_the_last(harness: Harness) -> None:
    await define_field(harness, "seats", "text")
    bad = await seed(harness.app, 5, custom_fields={"seats": "many"})
    response = await harness.client.patch(
        "/v1/custom-fields/seats", json={"type": "number"}, headers=auth(ADMIN_KEY)
    )
    job = await job_finished(harness.client, response)
    pages: list[list[str]] = []
    url = f"/v1/jobs/{job['id']}/errors?limit=2"
    while url:
        page = await harness.client.get(url, headers=auth(VIEWER_KEY))
        assert page.status_code == 200, page.text
        pages.append([e["contact_id"] for e in page.json()["items"]])
        cursor = page.json()["next_cursor"]
        url = f"/v1/jobs/{job['id']}/errors?limit=2&cursor={cursor}" if cursor else ""
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [contact_id for page in pages for contact_id in page] == sorted(bad)
    bad_cursor = await harness.client.get(
        f"/v1/jobs/{job['id']}/errors?cursor=nonsense", headers=auth(VIEWER_KEY)
    )
    assert bad_cursor.status_code == 400
    assert bad_cursor.headers["content-type"] == "application/problem+json"
    other = await harness.client.get(f"/v1/jobs/{job['id']}/errors", headers=auth(OTHER_TENANT_KEY))
    assert other.status_code == 404


async def test_a_failed_job_is_retried_once_per_idempotency_key(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = await _tag(harness, "VIP")
    ids = await seed(harness.app, 4, tags=["VIP"])

    async def broken(session: Any, job: Any) -> rewrite_plans.RewritePlan:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("crm_contacts.service_layer.rewrite_jobs.plan_for", broken)
    renamed = await harness.client.patch(
        f"/v1/tags/{tag['id']}", json={"name": "Gold"}, headers=auth(EDITOR_KEY)
    )
    failed = await job_finished(harness.client, renamed)
    assert failed["status"] == "failed" and failed["error"]
    monkeypatch.undo()

    headers = {**auth(EDITOR_KEY), "Idempotency-Key": "retry-1"}
    retry = await harness.client.post(f"/v1/jobs/{failed['id']}/retry", headers=headers)
    assert retry.status_code == 202, retry.text
    assert retry.json()["retries"] == 1
    done = await job_finished(harness.client, retry)
    assert (done["status"], done["progress"]["changed"]) == ("completed", 4)
    replay = await harness.client.post(f"/v1/jobs/{failed['id']}/retry", headers=headers)
    assert (replay.status_code, replay.headers.get("idempotent-replayed")) == (202, "true")
    again = await harness.client.post(f"/v1/jobs/{failed['id']}/retry", headers=auth(EDITOR_KEY))
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert "completed" in again.json()["detail"]
    # The problem's `status` is the HTTP status its schema declares; the job's is `job_status`.
    assert (again.json()["status"], again.json()["job_status"]) == (409, "completed")
    for contact_id in ids:
        stored = await harness.client.get(f"/v1/contacts/{contact_id}", headers=auth(VIEWER_KEY))
        assert stored.json()["tags"][0] == "Gold"
    viewer = await harness.client.post(f"/v1/jobs/{failed['id']}/retry", headers=auth(VIEWER_KEY))
    assert viewer.status_code == 403


async def test_recreating_a_tag_being_deleted_is_409_naming_the_job(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = await _tag(harness, "VIP")
    await seed(harness.app, 3, tags=["VIP"])
    # The runner waits at the job's start, so the delete is still under way when the name
    # comes back.
    release = asyncio.Event()
    real_start = rewrite_jobs.start_job

    async def held_start(*args: Any, **kwargs: Any) -> None:
        await release.wait()
        await real_start(*args, **kwargs)

    monkeypatch.setattr(rewrite_jobs, "start_job", held_start)
    deleted = await harness.client.delete(f"/v1/tags/{tag['id']}", headers=auth(EDITOR_KEY))
    assert deleted.status_code == 202
    job_id = deleted.json()["id"]
    again = await harness.client.post("/v1/tags", json={"name": "vip"}, headers=auth(EDITOR_KEY))
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert job_id in again.json()["detail"] and again.json()["job_id"] == job_id
    release.set()

    async def status() -> str:
        answer = await harness.client.get(f"/v1/jobs/{job_id}", headers=auth(VIEWER_KEY))
        return str(answer.json()["status"])

    await eventually(status, lambda s: s == "completed", what="the delete job to end")
    assert (
        await harness.client.post("/v1/tags", json={"name": "vip"}, headers=auth(EDITOR_KEY))
    ).status_code == 201


def test_the_openapi_document_declares_the_new_answers(
    openapi_documents: OpenApiDocuments,
) -> None:
    paths = openapi_documents["contacts"]["paths"]
    retry = paths["/v1/jobs/{job_id}/retry"]["post"]["responses"]
    assert {"202", "404", "409"} <= retry.keys()
    assert "application/problem+json" in retry["409"]["content"]
    assert "Idempotency-Key" in {
        p["name"] for p in paths["/v1/jobs/{job_id}/retry"]["post"].get("parameters", [])
    }
    errors = paths["/v1/jobs/{job_id}/errors"]["get"]["responses"]
    assert "application/problem+json" in errors["400"]["content"]  # a cursor it did not issue
    assert {"201", "202", "409"} <= paths["/v1/custom-fields"]["post"]["responses"].keys()
    assert "409" in paths["/v1/tags"]["post"]["responses"]
