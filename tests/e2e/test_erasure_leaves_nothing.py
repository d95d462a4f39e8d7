"""End to end, issue 10's "Done when": erase a person by email and find nothing of them anywhere.

One person is seeded through the API as two records sharing an email (one soft-deleted), a
failed import row, a note, a consent, an export file and an access bundle. After the erasure
by email, the raw bytes of every file under the data folder (each SQLite file with its -wal
and -shm), the audit log's values and every log line of every service hold none of their name,
emails or phones; the audit chain still verifies; and the API, an import and a form each refuse
or report the person when they come back.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import RunningPlatform, eventually, start_platform

pytestmark = pytest.mark.e2e

# A name with letters beyond a-f, so no hex id or hash can hold it by chance.
NAME = "Xylophia Quenby-Warrilow"
SHARED_EMAIL = "xylophia.quenby@example.org"
OTHER_EMAIL = "x.warrilow@quenby-looms.example.net"
PHONE = "+1 415-555-0177"
OTHER_PHONE = "+44 20 7946 0958"
FIRST = {"name": NAME, "email": SHARED_EMAIL, "phone": PHONE, "company": "Quenby Looms"}
SECOND = {"name": NAME, "email": OTHER_EMAIL, "emails": [SHARED_EMAIL], "phone": OTHER_PHONE}
STRANGER = {"name": "Bartholomew Stranger", "email": "bart.stranger@example.com"}
NOTE = f"Called {NAME}: wants the blue loom"
FORM = {
    "name": "Newsletter",
    "fields": {"full_name": "name", "mail": "email"},
    "consent_purposes": [{"purpose": "newsletter", "channel": "email", "label": "Newsletter"}],
    "notice_version": "2026-01",
}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    """The platform, given longer to start: the machine is shared and busy."""
    stack = start_platform(tmp_path_factory.mktemp("platform"), ready_seconds=180)
    try:
        yield stack
    finally:
        stack.platform.stop()
        stack.broker.stop()


def _forms_of(value: str) -> set[str]:
    """The case-folded spellings to look for: as typed, and a phone's digits."""
    folded = value.casefold()
    digits = re.sub(r"\D", "", value)
    return {folded, digits} if len(digits) >= 7 else {folded}


PERSONAL = set().union(
    *(_forms_of(v) for v in (NAME, "Xylophia", "Warrilow", SHARED_EMAIL, OTHER_EMAIL)),
    *(_forms_of(v) for v in (PHONE, OTHER_PHONE)),
    {"4155550177", "2079460958", "(415) 555-0177"},
)
# Ids (UUIDs) and hashes are random hex: masked, so a phone's digits never match inside one.
_HEX_TOKENS = re.compile(
    rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}"
)


def _masked(data: bytes) -> str:
    return _HEX_TOKENS.sub(b"#", data.lower()).decode("utf-8", errors="replace").casefold()


def _found_in(text: str) -> list[str]:
    return sorted(value for value in PERSONAL if value in text)


def _files_holding_the_person(data_dir: Path) -> dict[str, list[str]]:
    """Every file under the data folder (stores with -wal/-shm, uploads, exports) read raw."""
    found: dict[str, list[str]] = {}
    for path in sorted(data_dir.rglob("*")):
        if path.is_file() and (hits := _found_in(_masked(path.read_bytes()))):
            found[str(path.relative_to(data_dir))] = hits
    return found


def _settled_files(data_dir: Path) -> dict[str, list[str]]:
    """The files holding the person, once each store truncated its log (a moment after)."""
    leftovers = _files_holding_the_person(data_dir)
    deadline = time.monotonic() + 30
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.2)
        leftovers = _files_holding_the_person(data_dir)
    return leftovers


def _completed(client: httpx.Client, path: str, *, what: str) -> dict[str, object]:
    return eventually(
        lambda: (r := client.get(path).json())["status"] == "completed" and r,
        within=60,
        what=what,
    )


def _seed_records(contacts: httpx.Client) -> tuple[str, str]:
    first = contacts.post("/v1/contacts", json=FIRST)
    assert first.status_code == 201, first.text
    second = contacts.post("/v1/contacts", json=SECOND)
    assert second.status_code == 201, second.text
    assert contacts.post("/v1/contacts", json=STRANGER).status_code == 201
    deleted = contacts.delete(f"/v1/contacts/{second.json()['id']}")
    assert deleted.status_code in (200, 204), deleted.text
    return str(first.json()["id"]), str(second.json()["id"])


def _failed_import(importer: httpx.Client) -> str:
    # Five cells under a four-column header: the row fails and keeps its cells for errors.csv.
    upload = (
        "name,email,phone,company\n"
        f'"{NAME}",{OTHER_EMAIL},{OTHER_PHONE},Quenby Looms,stray\n'
        "Ann Other,ann.other@example.com,,Acme\n"
    )
    started = importer.post(
        "/v1/imports", files={"file": ("people.csv", upload.encode(), "text/csv")}
    )
    assert started.status_code == 202, started.text
    job_id = str(started.json()["id"])
    job = _completed(importer, f"/v1/imports/{job_id}", what="the import to complete")
    assert (job["failed"], job["created"]) == (1, 1)
    errors = importer.get(f"/v1/imports/{job_id}/errors").json()["items"]
    assert errors[0]["values"]["email"] == OTHER_EMAIL
    return job_id


def _export(importer: httpx.Client) -> str:
    export = importer.post("/v1/exports", json={"fields": ["id", "name", "email", "phone"]})
    assert export.status_code == 202, export.text
    export_id = str(export.json()["id"])
    _completed(importer, f"/v1/exports/{export_id}", what="the export to complete")
    assert NAME in importer.get(f"/v1/exports/{export_id}/download").text
    return export_id


def _seed(running: RunningPlatform) -> dict[str, str]:
    contacts, timeline = running.client("contacts"), running.client("timeline")
    importer, gdpr = running.client("importer"), running.client("gdpr")
    first_id, second_id = _seed_records(contacts)
    eventually(
        lambda: timeline.get(f"/v1/contacts/{first_id}/timeline").status_code == 200,
        what="the timeline to learn of the contact",
    )
    note = timeline.post(f"/v1/contacts/{first_id}/notes", json={"body": NOTE})
    assert note.status_code == 201, note.text
    consent = gdpr.post(
        f"/v1/contacts/{first_id}/consents",
        json={"purpose": "newsletter", "channel": "email", "status": "granted", "source": "web"},
    )
    assert consent.status_code == 201, consent.text
    job_id = _failed_import(importer)
    export_id = _export(importer)
    bundle = gdpr.post("/v1/data-exports", json={"email": SHARED_EMAIL})
    assert bundle.status_code in (200, 201), bundle.text
    assert {r["id"] for r in bundle.json()["records"]} == {first_id, second_id}
    # The person's values reached the audit log before the erasure (so redaction is tested).
    eventually(
        lambda: NAME in gdpr.get("/v1/audit-log/export").text,
        what="the person's values in the audit log",
    )
    return {"first": first_id, "second": second_id, "job": job_id, "export": export_id}


def _erase_by_email(gdpr: httpx.Client) -> dict[str, object]:
    erasure = gdpr.post("/v1/erasure-requests", json={"email": SHARED_EMAIL})
    assert erasure.status_code == 202, erasure.text
    return _completed(
        gdpr, f"/v1/erasure-requests/{erasure.json()['id']}", what="the erasure to complete"
    )


def _comes_back_refused(running: RunningPlatform, form: dict[str, str]) -> None:
    contacts, importer = running.client("contacts"), running.client("importer")
    again = contacts.post("/v1/contacts", json={"name": "New Name", "email": OTHER_EMAIL})
    assert again.status_code == 409, again.text
    by_phone = contacts.post("/v1/contacts", json={"name": "New Name", "phone": PHONE})
    assert by_phone.status_code == 409, by_phone.text

    upload = f"name,email\nSomeone New,{SHARED_EMAIL.upper()}\n"
    started = importer.post(
        "/v1/imports", files={"file": ("again.csv", upload.encode(), "text/csv")}
    )
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    job = _completed(importer, f"/v1/imports/{job_id}", what="the second import to complete")
    assert (job["failed"], job["created"]) == (1, 0), job
    error = importer.get(f"/v1/imports/{job_id}/errors").json()["items"][0]
    assert "erased" in error["reason"], error

    submitted = httpx.post(
        f"{running.url('contacts')}{form['submit_url']}",
        json={"fields": {"full_name": "Someone New", "mail": SHARED_EMAIL}, "consents": []},
        headers={"X-Form-Key": form["key"]},
        timeout=30,
    )
    assert submitted.status_code == 409, submitted.text


def test_an_erased_person_is_nowhere_and_cannot_come_back(running: RunningPlatform) -> None:
    contacts, gdpr = running.client("contacts"), running.client("gdpr")
    form = contacts.post("/v1/forms", json=FORM)
    assert form.status_code == 201, form.text
    seeded = _seed(running)

    done = _erase_by_email(gdpr)
    records = done["records"]
    assert isinstance(records, list)
    assert {seeded["first"], seeded["second"]} <= {r["id"] for r in records}
    assert set(done["services"]) >= {"contacts", "timeline", "importer", "gdpr"}  # type: ignore[arg-type]

    assert _settled_files(running.data_dir) == {}
    assert _found_in(_masked(gdpr.get("/v1/audit-log/export").content)) == []
    verified = gdpr.get("/v1/audit-log/verify")
    assert verified.status_code == 200 and verified.json()["valid"] is True, verified.text
    assert running.client("importer").get(
        f"/v1/exports/{seeded['export']}/download"
    ).status_code in (404, 409, 410)
    # A stranger imported and exported alongside is untouched.
    assert contacts.get("/v1/contacts", params={"q": "bart.stranger"}).json()["items"]

    _comes_back_refused(running, form.json())
    # Refusing them kept nothing of them either (the upload, the failed row, the requests).
    assert _settled_files(running.data_dir) == {}
    log_lines = [
        line for line in running.log_path.read_bytes().splitlines() if _found_in(_masked(line))
    ]
    assert log_lines == []
