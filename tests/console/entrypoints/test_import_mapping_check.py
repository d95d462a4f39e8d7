"""The import wizard's mapping step shows the importer's mapping problems next to the columns and
offers to create the missing custom fields, before a dry run or an import."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from crm_console.service_layer.uploads import PART_BYTES
from tests.console.fake_platform import FakePlatform

CSV = b"Full Name,E-mail,Points,custom.plan\nMary Jackson,mary@example.com,12,pro\n"


def _upload(console: TestClient, csrf: str, content: bytes = CSV) -> tuple[str, str]:
    """Upload a file; the mapping page's HTML and the held upload's token."""
    page = console.post(
        "/imports/upload",
        data={"csrf_token": csrf},
        files={"file": ("points.csv", content, "text/csv")},
    )
    assert page.status_code == 200, page.text
    return page.text, page.text.split('name="upload" value="')[1].split('"')[0]


def _selected(page: str, index: int) -> str:
    select = page.split(f'id="map-{index}"')[1].split("</select>")[0]
    found = re.search(r'<option value="([^"]*)" selected>', select)
    return found.group(1) if found else ""


def _start(console: TestClient, csrf: str, token: str, **fields: str) -> str:
    """Post the mapping form with Points mapped to a new custom field; the page's HTML."""
    form = {"csrf_token": csrf, "upload": token, "map.0": "name", "map.1": "email"}
    form.update({"map.2": "custom.points", "map.3": "custom.plan", **fields})
    response = console.post("/imports/start", data=form)
    return response.text


def test_a_column_named_after_an_undefined_field_shows_the_problem_next_to_it(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("admin-key")
    page, _ = _upload(console, csrf, CSV.replace(b"Points", b"custom.points"))

    (preview,) = fake.previews
    assert json.loads(preview["mapping"])["custom.points"] == "custom.points"
    assert preview["create_fields"] == "false"
    assert _selected(page, 2) == "custom.points"
    problem = page.split('id="problem-2"')[1].split("</p>")[0]
    assert "custom.points is not a custom field yet" in problem
    assert "created as a text field" in problem
    assert 'aria-describedby="problem-2" aria-invalid="true"' in page
    assert 'id="problem-3"' not in page  # custom.plan is defined
    assert 'name="create_fields" value="true">' in page


def test_checking_a_new_custom_field_names_its_type_and_ticking_create_sends_create_fields(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("admin-key")
    page, token = _upload(console, csrf)
    assert "New custom field: points</option>" in page
    assert 'id="problem-2"' not in page  # Points is not mapped until the person says so

    checked = _start(console, csrf, token, mode="check", on_duplicate="update")
    assert "custom.points is not a custom field yet" in checked
    assert "created as a number field" in checked
    assert _selected(checked, 2) == "custom.points"
    assert 'value="update" checked' in checked  # the choices made so far are kept

    refused = _start(console, csrf, token, mode="import")
    assert "maps to an undefined field" in refused
    assert fake.imports == []

    ticked = _start(console, csrf, token, mode="check", create_fields="true")
    assert "custom.points will be created as a number field" in ticked
    assert 'name="create_fields" value="true" checked>' in ticked
    assert fake.previews[-1]["create_fields"] == "true"
    started = console.post(
        "/imports/start",
        data={
            "csrf_token": csrf,
            "upload": token,
            "map.0": "name",
            "map.1": "email",
            "map.2": "custom.points",
            "map.3": "",
            "create_fields": "true",
            "mode": "import",
        },
    )
    assert started.status_code == 303, started.text
    (sent,) = fake.imports
    assert sent["create_fields"] == "true"
    assert json.loads(sent["mapping"])["Points"] == "custom.points"


def test_an_editor_is_told_only_an_admin_creates_fields_and_sees_the_importers_refusal(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("editor-key")
    _, token = _upload(console, csrf)

    checked = _start(console, csrf, token, mode="check")
    assert "Only an admin can create custom fields" in checked
    assert 'name="create_fields"' not in checked

    refused = _start(console, csrf, token, mode="dry_run", create_fields="true")
    assert "creating a custom field needs the admin role" in refused
    assert fake.imports == []


def test_a_dry_run_with_create_fields_is_imported_with_it_too(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("admin-key")
    _, token = _upload(console, csrf)
    _start(console, csrf, token, mode="dry_run", create_fields="true")
    assert fake.imports[0]["dry_run"] == "true"

    console.post(
        "/imports/start",
        data={"csrf_token": csrf, "upload": token, "use_saved": "true", "mode": "import"},
    )

    assert "dry_run" not in fake.imports[1]
    assert fake.imports[1]["create_fields"] == "true"


def test_the_check_sends_only_the_files_first_part_and_a_refusal_does_not_block_the_page(
    console: TestClient, sign_in: Callable[[str], str], fake: FakePlatform
) -> None:
    csrf = sign_in("admin-key")
    row = b"Mary Jackson,mary@example.com,12,pro\n"
    large = CSV + row * (2 * PART_BYTES // len(row))
    fake.preview_status = 503

    page, token = _upload(console, csrf, large)

    assert fake.previews[0]["file"] == large[:PART_BYTES]
    assert "The mapping could not be checked now (the importer is busy)" in page
    started = _start(console, csrf, token, mode="import", create_fields="true")
    assert fake.imports[0]["file"] == large  # the import itself sends the whole file
    assert started == ""  # a redirect to the job


def test_rejected_rows_name_each_cell_by_its_column_and_page_back_and_forth(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("viewer-key")

    first = console.get("/imports/j1/errors").text

    assert '<span class="hint">E-mail:</span> no.name@example.com' in first
    found = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert found
    second = console.get(found.group(1).replace("&amp;", "&")).text
    assert "<td>4</td>" in second
    assert '<a href="/imports/j1/errors" rel="prev">Previous page</a>' in second
