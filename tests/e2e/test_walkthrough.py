"""End to end over HTTP: create, timeline, audit, import, export, consent, erasure, nothing left."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningPlatform, eventually
from tests.sqlite_dump import dump_rows

pytestmark = pytest.mark.e2e

PERSON = {
    "name": "Zelda Quixotic-Vantablack",
    "email": "zelda.quixotic@example.org",
    "phone": "+14155550123",
    "company": "Hyrule Holdings",
}
NOTE = "Prefers calls after 5pm; allergic to pineapple"


def _personal_values() -> list[str]:
    return [PERSON["name"], PERSON["email"], "4155550123", PERSON["company"], NOTE, "Quixotic"]


def _dump_sqlite(path: Path) -> str:
    return dump_rows(path)


def test_a_contact_walks_through_the_whole_platform_and_is_erased(running: RunningPlatform) -> None:
    contacts, timeline = running.client("contacts"), running.client("timeline")
    importer, gdpr = running.client("importer"), running.client("gdpr")

    created = contacts.post("/v1/contacts", json=PERSON)
    assert created.status_code == 201, created.text
    contact = created.json()
    contact_id = contact["id"]

    items = eventually(
        lambda: timeline.get(f"/v1/contacts/{contact_id}/timeline").json().get("items"),
        what="the created contact in the timeline",
    )
    assert items[0]["type"] == "contact_changed"

    audit = eventually(
        lambda: gdpr.get("/v1/audit-log", params={"contact_id": contact_id}).json().get("items"),
        what="the creation in the audit log",
    )
    assert audit[0]["target"] == contact_id
    assert audit[0]["action"] == "crm.contacts.contact.created.v1"

    note = timeline.post(f"/v1/contacts/{contact_id}/notes", json={"body": NOTE})
    assert note.status_code == 201, note.text

    upload = io.StringIO()
    writer = csv.writer(upload)
    writer.writerow(["name", "email", "phone", "company"])
    writer.writerow(["Zelda Duplicate", PERSON["email"].upper(), "", "Other Co"])
    writer.writerow(["Link Newcomer", "link.newcomer@example.org", "+14155550199", "Hyrule"])
    started = importer.post(
        "/v1/imports",
        files={"file": ("people.csv", upload.getvalue().encode(), "text/csv")},
        data={"on_duplicate": "skip"},
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    job = eventually(
        lambda: (j := importer.get(f"/v1/imports/{job_id}").json())["status"] == "completed" and j,
        what="the import to complete",
    )
    assert (job["total_rows"], job["created"], job["skipped"], job["failed"]) == (2, 1, 1, 0)
    listed = contacts.get("/v1/contacts", params={"q": "zelda"}).json()["items"]
    assert [c["id"] for c in listed] == [contact_id], "the duplicate row must have been skipped"

    export = importer.post(
        "/v1/exports", json={"fields": ["id", "name", "email"], "filter": {"q": "example.org"}}
    )
    assert export.status_code == 202, export.text
    export_id = export.json()["id"]
    eventually(
        lambda: importer.get(f"/v1/exports/{export_id}").json()["status"] == "completed",
        what="the export to complete",
    )
    downloaded = importer.get(f"/v1/exports/{export_id}/download")
    assert downloaded.status_code == 200
    rows = list(csv.reader(io.StringIO(downloaded.text)))
    assert rows[0] == ["id", "name", "email"]
    assert sorted(r[2] for r in rows[1:]) == ["link.newcomer@example.org", PERSON["email"]]

    consent = gdpr.post(
        f"/v1/contacts/{contact_id}/consents",
        json={"purpose": "newsletter", "status": "granted", "source": "web-form"},
    )
    assert consent.status_code == 201, consent.text
    purposes = gdpr.get(f"/v1/contacts/{contact_id}/consents").json()["purposes"]
    assert [(p["purpose"], p["status"]) for p in purposes] == [("newsletter", "granted")]

    erasure = gdpr.post("/v1/erasure-requests", json={"contact_id": contact_id})
    assert erasure.status_code == 202, erasure.text
    erasure_id = erasure.json()["id"]
    done = eventually(
        lambda: (
            (r := gdpr.get(f"/v1/erasure-requests/{erasure_id}").json())["status"] == "completed"
            and r
        ),
        what="the erasure to complete",
    )
    assert set(done["receipts"]) == {"contacts", "timeline", "importer", "gdpr"}

    assert contacts.get(f"/v1/contacts/{contact_id}").status_code in (404, 410)
    assert contacts.get("/v1/contacts", params={"q": "zelda"}).json()["items"] == []
    assert importer.get(f"/v1/exports/{export_id}/download").status_code in (404, 409, 410)
    remaining_timeline = timeline.get(f"/v1/contacts/{contact_id}/timeline").text
    remaining_audit = gdpr.get("/v1/audit-log", params={"contact_id": contact_id}).text
    for value in _personal_values():
        assert value.lower() not in remaining_timeline.lower()
        assert value.lower() not in remaining_audit.lower()

    for database in sorted(running.data_dir.rglob("*.sqlite3")):
        dump = _dump_sqlite(database).lower()
        for value in _personal_values():
            assert value.lower() not in dump, f"{value!r} is still in {database.name}"
    for artifact in running.data_dir.rglob("*"):
        if artifact.is_file() and artifact.suffix in (".csv", ".ids"):
            text = artifact.read_text(errors="replace").lower()
            for value in _personal_values():
                assert value.lower() not in text, f"{value!r} is still in {artifact}"
    # The other person from the import is untouched.
    assert contacts.get("/v1/contacts", params={"q": "link.newcomer"}).json()["items"]
