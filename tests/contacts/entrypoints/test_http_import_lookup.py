"""`POST /v1/contacts/lookup`: an import's dry run decided by the batch apply's own rule."""

from __future__ import annotations

from typing import Any

from crm_shared.events import ImportBatchProcessed
from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.contacts.helpers import Harness, envelope, import_batch


async def _look_up(harness: Harness, body: dict[str, Any], key: str = EDITOR_KEY) -> Any:
    return await harness.client.post("/v1/contacts/lookup", json=body, headers=auth(key))


def _rows(*rows: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"row_number": n, **row} for n, row in enumerate(rows, start=1)]


ROWS = _rows(
    {"name": "Ada Again", "email": "ADA@example.com", "company": "New Co"},
    {"name": "Grace", "email": "grace@example.com", "phone": "nope"},
    {"email": "grace@"},
    {"name": "Grace Twin", "email": "grace@example.com"},
)


async def test_each_row_gets_what_an_import_would_do_and_nothing_is_written(
    harness: Harness,
) -> None:
    ada = await harness.create(email="ada@example.com", company="Old Co")
    response = await _look_up(harness, {"rows": ROWS, "on_duplicate": "update"})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["status"], r["contact_id"]) for r in results] == [
        ("updated", ada["id"]),
        ("created", None),
        ("failed", None),
        # The second Grace finds the first one, which the batch would have created.
        ("updated", None),
    ]
    assert results[1]["warnings"] == ["phone is not a valid phone number (left out)"]
    assert results[2]["error"] == "row 3: email is not a valid address"
    listed = await harness.client.get("/v1/contacts", headers=auth(VIEWER_KEY))
    assert [c["id"] for c in listed.json()["items"]] == [ada["id"]]
    stored = await harness.client.get(f"/v1/contacts/{ada['id']}", headers=auth(VIEWER_KEY))
    assert stored.json()["company"] == "Old Co"
    assert await harness.outbox(ImportBatchProcessed.event_type) == []


async def test_the_look_up_answers_what_the_batch_apply_then_does(harness: Harness) -> None:
    await harness.create(email="ada@example.com", company="Old Co")
    looked_up = (await _look_up(harness, {"rows": ROWS, "on_duplicate": "skip"})).json()
    await harness.handle(envelope(import_batch([dict(r) for r in ROWS], policy="skip")))
    [applied] = await harness.outbox(ImportBatchProcessed.event_type)
    assert [r["status"] for r in looked_up["results"]] == [
        r["status"] for r in applied.data["results"]
    ]


async def test_match_on_phone_matches_by_phone_only(harness: Harness) -> None:
    by_phone = await harness.create(email="grace@example.com", phone="+14155550199")
    await harness.create(email="ada@example.com")
    row = {"row_number": 1, "name": "A", "email": "ada@example.com", "phone": "+14155550199"}
    response = await _look_up(
        harness, {"rows": [row], "on_duplicate": "skip", "match_on": ["phone"]}
    )
    assert response.json()["results"][0] == {
        "row_number": 1,
        "status": "skipped",
        "contact_id": by_phone["id"],
        "error": None,
        "warnings": [],
    }


async def test_bad_requests_are_refused_naming_the_problem(harness: Harness) -> None:
    unknown = await _look_up(harness, {"rows": ROWS, "match_on": ["fax"]})
    assert unknown.status_code == 422
    assert "match_on" in unknown.text
    too_many = await _look_up(harness, {"rows": _rows(*({"name": "x"} for _ in range(1001)))})
    assert too_many.status_code == 422
    assert "rows" in too_many.text
    viewer = await _look_up(harness, {"rows": ROWS}, key=VIEWER_KEY)
    assert viewer.status_code == 403


async def test_a_row_number_that_is_not_a_json_integer_is_refused(harness: Harness) -> None:
    for row_number in (False, "3", 2.5):
        rows = [{"row_number": row_number, "name": "Ada", "email": "ada@example.com"}]
        response = await _look_up(harness, {"rows": rows, "on_duplicate": "skip"})
        assert response.status_code == 422, (row_number, response.text)
        assert "row_number" in response.text
