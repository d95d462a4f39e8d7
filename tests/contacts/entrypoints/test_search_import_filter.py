"""`import_id=` in the contacts search: the contacts an import created or changed."""

from __future__ import annotations

from typing import Any

from tests.conftest import OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope, import_batch


async def _names(harness: Harness, key: str = VIEWER_KEY, **params: Any) -> list[str]:
    response = await harness.client.get("/v1/contacts", params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    return sorted(item["name"] for item in response.json()["items"])


async def _import(harness: Harness, job_id: str, rows: list[dict[str, Any]], policy: str) -> None:
    await harness.handle(envelope(import_batch(rows, policy=policy, job_id=job_id)))


async def test_the_filter_finds_what_each_import_created_or_changed(harness: Harness) -> None:
    await harness.create(name="Typed In", email="typed@example.com")
    await _import(
        harness,
        "job-1",
        [{"name": "Ada", "email": "ada@example.com"}, {"name": "Bob", "email": "bob@example.com"}],
        "skip",
    )
    await _import(
        harness,
        "job-2",
        [
            {"name": "Ada", "email": "ada@example.com", "company": "Analytical"},  # changed
            {"name": "Bob", "email": "bob@example.com"},  # nothing new: skipped, not marked
            {"name": "Cy", "email": "cy@example.com"},  # created
        ],
        "update",
    )

    assert await _names(harness, import_id="job-1") == ["Ada", "Bob"]
    assert await _names(harness, import_id="job-2") == ["Ada", "Cy"]
    assert await _names(harness, import_id="job-3") == []
    assert await _names(harness, import_id="job-1", q="bob") == ["Bob"]


async def test_the_filter_works_as_json_and_stays_in_the_tenant(harness: Harness) -> None:
    await _import(harness, "job-1", [{"name": "Ada", "email": "ada@example.com"}], "skip")

    response = await harness.client.post(
        "/v1/contacts/search", json={"filter": {"import_id": "job-1"}}, headers=auth(VIEWER_KEY)
    )

    assert [item["name"] for item in response.json()["items"]] == ["Ada"]
    assert await _names(harness, OTHER_TENANT_KEY, import_id="job-1") == []


async def test_an_overlong_import_id_is_refused_by_name(harness: Harness) -> None:
    response = await harness.client.get(
        "/v1/contacts", params={"import_id": "x" * 101}, headers=auth(VIEWER_KEY)
    )

    assert response.status_code in (400, 422)
    assert "import_id" in response.text
