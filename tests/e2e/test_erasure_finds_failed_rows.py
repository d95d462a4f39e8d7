"""End to end: an erasure removes failed import rows holding only an additional email or phone."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import RunningPlatform, eventually
from tests.sqlite_dump import dump_rows

pytestmark = pytest.mark.e2e

PERSON = {
    "name": "Quentin Additional-Identities",
    "email": "quentin.primary@example.org",
    "emails": ["q.sidekick@Bücher.de"],
    "phones": ["+1 415-555-0142"],
}
# What the failed rows hold: the additional email typed otherwise, the phone in national format.
ROW_EMAIL = "Q.Sidekick@bücher.de"
ROW_PHONE = "(415) 555 0142"
STRANGER = "someone.else@example.net"


def _dump(path: Path) -> str:
    return dump_rows(path).lower()


def test_erasure_deletes_failed_rows_that_hold_only_an_additional_identifier(
    running: RunningPlatform,
) -> None:
    contacts, importer, gdpr = (running.client(s) for s in ("contacts", "importer", "gdpr"))
    created = contacts.post("/v1/contacts", json=PERSON)
    assert created.status_code == 201, created.text
    contact_id = created.json()["id"]

    # One cell where the header has four: the importer fails each row itself and keeps its cells.
    upload = f"name,email,phone,company\n{ROW_EMAIL}\n{ROW_PHONE}\n{STRANGER}\n"
    started = importer.post(
        "/v1/imports", files={"file": ("people.csv", upload.encode(), "text/csv")}
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    job = eventually(
        lambda: (j := importer.get(f"/v1/imports/{job_id}").json())["status"] == "completed" and j,
        what="the import to complete",
    )
    assert (job["failed"], job["created"]) == (3, 0)
    errors = importer.get(f"/v1/imports/{job_id}/errors").json()["items"]
    assert [e["values"] for e in errors] == [{"name": v} for v in (ROW_EMAIL, ROW_PHONE, STRANGER)]

    erasure = gdpr.post("/v1/erasure-requests", json={"contact_id": contact_id})
    assert erasure.status_code == 202, erasure.text
    erasure_id = erasure.json()["id"]
    eventually(
        lambda: gdpr.get(f"/v1/erasure-requests/{erasure_id}").json()["status"] == "completed",
        what="the erasure to complete",
    )

    remaining = importer.get(f"/v1/imports/{job_id}/errors").json()["items"]
    assert [e["values"] for e in remaining] == [{"name": STRANGER}], "only the stranger's row"
    dump = _dump(next(running.data_dir.rglob("importer.sqlite3")))
    for value in ("q.sidekick", "4155550142", "555 0142"):
        assert value not in dump, f"{value!r} is still in the importer's database"
    assert STRANGER in dump
