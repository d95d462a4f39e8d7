"""End to end: bad input gets a 4xx problem+json that says what is wrong, and loses nothing."""

from __future__ import annotations

import pytest

from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY
from tests.e2e.conftest import RunningPlatform, eventually

pytestmark = pytest.mark.e2e


def _is_problem(response: object, status: int) -> dict:  # type: ignore[type-arg]
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status and body["detail"]
    return body  # type: ignore[no-any-return]


def test_malformed_json_is_a_400(running: RunningPlatform) -> None:
    response = running.client("contacts").post(
        "/v1/contacts", content=b'{"name": "x",', headers={"content-type": "application/json"}
    )
    _is_problem(response, 400)


def test_unknown_field_is_named(running: RunningPlatform) -> None:
    response = running.client("contacts").post("/v1/contacts", json={"name": "x", "shoe": 42})
    assert "shoe" in _is_problem(response, 422)["detail"]


def test_invalid_email_is_named(running: RunningPlatform) -> None:
    response = running.client("contacts").post("/v1/contacts", json={"name": "x", "email": "nope"})
    assert "email" in _is_problem(response, 422)["detail"]


def test_missing_and_wrong_keys_are_401(running: RunningPlatform) -> None:
    import httpx

    url = running.url("contacts") + "/v1/contacts"
    _is_problem(httpx.get(url), 401)
    _is_problem(httpx.get(url, headers={"Authorization": "Bearer not-a-key"}), 401)


def test_another_tenants_contact_is_404(running: RunningPlatform) -> None:
    created = running.client("contacts").post("/v1/contacts", json={"name": "Tenant A person"})
    contact_id = created.json()["id"]
    other = running.client("contacts", OTHER_TENANT_KEY)
    _is_problem(other.get(f"/v1/contacts/{contact_id}"), 404)
    _is_problem(other.patch(f"/v1/contacts/{contact_id}", json={"name": "hijack"}), 404)
    _is_problem(
        running.client("timeline", OTHER_TENANT_KEY).get(f"/v1/contacts/{contact_id}/timeline"), 404
    )
    _is_problem(
        running.client("gdpr", OTHER_TENANT_KEY).post(
            "/v1/erasure-requests", json={"contact_id": contact_id}
        ),
        404,
    )


def test_erasure_by_a_non_admin_is_403(running: RunningPlatform) -> None:
    created = running.client("contacts").post("/v1/contacts", json={"name": "Keep me"})
    response = running.client("gdpr", EDITOR_KEY).post(
        "/v1/erasure-requests", json={"contact_id": created.json()["id"]}
    )
    _is_problem(response, 403)


def test_ragged_and_wrongly_encoded_rows_are_reported_and_good_rows_imported(
    running: RunningPlatform,
) -> None:
    importer = running.client("importer")
    content = (
        b"name,email\n"
        b"Good One,good.one@example.net\n"
        b"Ragged,ragged@example.net,extra\n"
        b"Ren\xe9 Latin,rene@example.net\n"
        b"Good Two,good.two@example.net\n"
    )
    started = importer.post("/v1/imports", files={"file": ("x.csv", content, "text/csv")})
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    job = eventually(
        lambda: (j := importer.get(f"/v1/imports/{job_id}").json())["status"] == "completed" and j,
        what="the import to complete",
    )
    # The file's one non-UTF-8 byte makes it a single-byte code page file: the row reads as
    # "René"; only the ragged row fails.
    assert (job["created"], job["failed"]) == (3, 1)
    errors = importer.get(f"/v1/imports/{job_id}/errors").json()["items"]
    assert [e["row_number"] for e in errors] == [2]
    assert errors[0]["reason"]
    contacts = running.client("contacts")
    found = contacts.get("/v1/contacts", params={"q": "good."}).json()["items"]
    assert len(found) == 2
    [rene] = contacts.get("/v1/contacts", params={"q": "rene@example"}).json()["items"]
    assert rene["name"] == "René Latin"


def test_a_number_above_64_bits_fails_its_row_alone_and_the_import_completes(
    running: RunningPlatform,
) -> None:
    defined = running.client("contacts").post(
        "/v1/custom-fields", json={"key": "seats_e2e", "label": "Seats", "type": "number"}
    )
    assert defined.status_code == 201, defined.text
    lines = ["name,email,custom.seats_e2e"]
    for n in range(1, 1501):
        seats = "100000000000000000000" if n == 701 else str(n)
        lines.append(f"Row {n},row{n}.big@example.net,{seats}")
    content = ("\n".join(lines) + "\n").encode()
    importer = running.client("importer")
    started = importer.post("/v1/imports", files={"file": ("big.csv", content, "text/csv")})
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    job = eventually(
        lambda: (
            (j := importer.get(f"/v1/imports/{job_id}").json())["status"] != "running"
            and j["status"] != "queued"
            and j
        ),
        what="the import to end",
        within=120,
    )
    assert job["status"] == "completed", job
    # The cell that cannot be stored is left out and reported; its row is still imported.
    assert (job["created"], job["failed"], job["processed_rows"]) == (1500, 0, 1500)
    [warned] = importer.get(f"/v1/imports/{job_id}/errors").json()["items"]
    assert warned["row_number"] == 701 and warned["reason"] is None
    assert any("seats_e2e" in warning for warning in warned["warnings"])
