"""Helpers of the bulk-action and campaign tests: create a campaign, run a bulk action."""

from __future__ import annotations

from typing import Any

from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness
from tests.polling import eventually

FINISHED = frozenset({"completed", "failed", "cancelled"})


async def campaign(harness: Harness, name: str, **extra: Any) -> dict[str, Any]:
    """Create a campaign over HTTP (asserting 201)."""
    response = await harness.client.post(
        "/v1/campaigns", json={"name": name, **extra}, headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def start_bulk(harness: Harness, *, key: str = EDITOR_KEY, **body: Any) -> dict[str, Any]:
    """POST a bulk action (asserting 202)."""
    response = await harness.client.post("/v1/bulk-actions", json=body, headers=auth(key))
    assert response.status_code == 202, response.text
    return dict(response.json())


async def job_state(harness: Harness, job_id: str) -> dict[str, Any]:
    """GET a bulk action."""
    response = await harness.client.get(f"/v1/bulk-actions/{job_id}", headers=auth(VIEWER_KEY))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def wait_finished(harness: Harness, job_id: str, *, seconds: float = 30.0) -> dict[str, Any]:
    """Poll the job until it finished; fails after `seconds`."""
    return await eventually(
        lambda: job_state(harness, job_id),
        lambda state: state["status"] in FINISHED,
        within=seconds,
        interval=0.02,
        what=f"bulk action {job_id} finished",
    )


async def run_bulk(harness: Harness, **body: Any) -> dict[str, Any]:
    """Start a bulk action and wait for its end."""
    job = await start_bulk(harness, **body)
    return await wait_finished(harness, job["id"])


async def results(harness: Harness, job_id: str, **params: Any) -> list[dict[str, Any]]:
    """Every per-contact outcome of a job, following the cursor."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await harness.client.get(
            f"/v1/bulk-actions/{job_id}/results", params=query, headers=auth(VIEWER_KEY)
        )
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def seed(app: Any, count: int, *, tenant: str = "acme", **fields: Any) -> list[str]:
    """Store `count` contacts directly (as the benchmarks load them), in id order; their ids."""
    from crm_contacts.adapters.repository import ContactRepository
    from crm_contacts.domain.contact import new_contact
    from crm_shared.clock import now_iso
    from crm_shared.ids import new_id

    ids: list[str] = []
    now = now_iso()
    for start in range(0, count, 5000):
        docs = [
            new_contact(
                contact_id=new_id(),
                tenant=tenant,
                profile={"name": f"Seeded {n}", "tags": ["source:manual"], **fields},
                source="manual",
                now=now,
            )
            for n in range(start, min(count, start + 5000))
        ]
        async with app.state.store.transaction() as session:
            await ContactRepository(session, tenant).add_many(docs)
        ids += [doc["id"] for doc in docs]
    return ids
