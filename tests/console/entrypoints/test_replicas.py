"""Two console replicas on one store: a session and an upload started on one go on in the other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crm_console.bootstrap import create_app
from tests.console.conftest import console_settings, csrf_of
from tests.console.fake_platform import FakePlatform

CSV = b"Full Name,E-mail\nMary Jackson,mary@example.com\nDorothy Vaughan,dorothy@example.com\n"


@pytest.fixture
def replicas(fake: FakePlatform, tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    """Two console apps (as two processes would be) sharing one data folder, so one store."""
    first = create_app(console_settings(tmp_path), transport=fake.transport())
    second = create_app(console_settings(tmp_path), transport=fake.transport())
    with (
        TestClient(first, follow_redirects=False) as a,
        TestClient(second, follow_redirects=False) as b,
    ):
        yield a, b


def _sign_in(client: TestClient, key: str) -> str:
    form = client.get("/signin")
    response = client.post("/signin", data={"api_key": key, "csrf_token": csrf_of(form.text)})
    assert response.status_code == 303
    return str(response.cookies["crm_console_session"])


def test_signed_in_on_one_replica_the_import_wizard_continues_on_the_other(
    replicas: tuple[TestClient, TestClient], fake: FakePlatform
) -> None:
    a, b = replicas
    b.cookies.set("crm_console_session", _sign_in(a, "editor-key"))

    upload_page = b.get("/imports/new")
    assert upload_page.status_code == 200
    csrf = csrf_of(upload_page.text)
    mapping = b.post(
        "/imports/upload",
        data={"csrf_token": csrf},
        files={"file": ("people.csv", CSV, "text/csv")},
    )
    assert mapping.status_code == 200, mapping.text
    token = mapping.text.split('name="upload" value="')[1].split('"')[0]
    a.cookies.update(b.cookies)
    started = a.post(
        "/imports/start",
        data={
            "csrf_token": csrf,
            "upload": token,
            "map.0": "name",
            "map.1": "email",
            "mode": "import",
        },
    )

    assert started.status_code == 303, started.text
    assert started.headers["location"] == "/imports/j1"
    assert fake.imports[0]["file"] == CSV
    assert fake.imports[0]["mapping"] == '{"Full Name": "name", "E-mail": "email"}'
    # Sent on, so no replica holds the file any more.
    again = b.post("/imports/start", data={"csrf_token": csrf, "upload": token, "mode": "import"})
    assert again.status_code == 422
    assert "The upload expired" in again.text


def test_a_dry_run_on_one_replica_is_imported_from_the_other_with_the_same_mapping(
    replicas: tuple[TestClient, TestClient], fake: FakePlatform
) -> None:
    a, b = replicas
    cookie = _sign_in(a, "editor-key")
    b.cookies.set("crm_console_session", cookie)
    csrf = csrf_of(a.get("/imports/new").text)
    mapping = a.post(
        "/imports/upload", data={"csrf_token": csrf}, files={"file": ("p.csv", CSV, "text/csv")}
    )
    token = mapping.text.split('name="upload" value="')[1].split('"')[0]
    dry = a.post(
        "/imports/start",
        data={
            "csrf_token": csrf,
            "upload": token,
            "map.0": "name",
            "map.1": "",
            "on_duplicate": "update",
            "mode": "dry_run",
        },
    )
    assert dry.headers["location"] == f"/imports/j1?upload={token}"
    assert fake.imports[0]["dry_run"] == "true"

    result = b.get(dry.headers["location"])
    assert "would be created" in result.text
    assert "Import p.csv now" in result.text
    real = b.post(
        "/imports/start",
        data={"csrf_token": csrf, "upload": token, "use_saved": "true", "mode": "import"},
    )

    assert real.headers["location"] == "/imports/j2"
    assert "dry_run" not in fake.imports[1]
    assert fake.imports[1]["mapping"] == fake.imports[0]["mapping"]
    assert fake.imports[1]["on_duplicate"] == "update"
    assert fake.imports[1]["file"] == CSV


def test_signing_out_on_one_replica_signs_out_on_every_replica(
    replicas: tuple[TestClient, TestClient],
) -> None:
    a, b = replicas
    cookie = _sign_in(a, "admin-key")
    b.cookies.set("crm_console_session", cookie)
    csrf = csrf_of(b.get("/contacts").text)

    assert b.post("/signout", data={"csrf_token": csrf}).status_code == 303
    a.cookies.set("crm_console_session", cookie)
    after = a.get("/contacts")

    assert after.status_code == 303
    assert after.headers["location"].startswith("/signin")
