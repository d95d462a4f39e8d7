"""Bad uploads are refused with problem+json naming what is wrong, and leave nothing behind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import EDITOR_KEY, auth
from tests.importer.conftest import AppFactory
from tests.importer.helpers import batch_processed, outbox, upload, upload_and_read, wait_for

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _nothing_left_behind(platform_env: dict[str, str]) -> object:
    """After every refused upload, no file stays in the uploads folder."""
    yield None
    uploads = Path(platform_env["CRM_DATA_DIR"]) / "importer" / "uploads"
    assert list(uploads.iterdir()) == []


def _problem(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    detail = response.json()["detail"]
    for word in words:
        assert word in detail, detail


async def test_a_request_without_a_file_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/imports",
        data={"on_duplicate": "skip"},
        files={"other": ("x", b"")},
        headers=auth(EDITOR_KEY),
    )

    _problem(response, 422, "'file'")


async def test_a_body_that_is_not_multipart_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/imports", content=b"name\nAda\n", headers={**auth(), "content-type": "text/csv"}
    )

    _problem(response, 415, "multipart/form-data")


async def test_an_empty_file_is_refused(client: httpx.AsyncClient) -> None:
    _problem(await upload(client, b""), 422, "empty")


async def test_a_file_of_blank_lines_is_refused(client: httpx.AsyncClient) -> None:
    _problem(await upload(client, b"\n\r\n\n"), 422, "empty")


async def test_a_header_without_data_rows_is_refused(client: httpx.AsyncClient) -> None:
    _problem(await upload(client, b"name,email\n\n"), 422, "no data rows")


async def test_a_mapping_that_is_not_json_is_refused(client: httpx.AsyncClient) -> None:
    _problem(await upload(client, b"name\nAda\n", mapping="{name: email"), 400, "mapping", "JSON")


async def test_a_mapping_that_is_not_an_object_is_refused(client: httpx.AsyncClient) -> None:
    _problem(await upload(client, b"name\nAda\n", mapping='["name"]'), 422, "mapping")


async def test_a_mapping_to_an_unknown_field_is_refused(client: httpx.AsyncClient) -> None:
    response = await upload(client, b"name,Birthday\nAda,1815\n", mapping={"Birthday": "birthday"})

    _problem(response, 422, "unknown field 'birthday'")


async def test_a_mapping_to_an_invalid_custom_key_is_refused(client: httpx.AsyncClient) -> None:
    response = await upload(client, b"name,Plan\nAda,pro\n", mapping={"Plan": "custom.Bad Key"})

    _problem(response, 422, "custom.Bad Key")


async def test_a_mapping_naming_a_column_not_in_the_header_is_refused(
    client: httpx.AsyncClient,
) -> None:
    response = await upload(client, b"name\nAda\n", mapping={"Mail": "email"})

    _problem(response, 422, "'Mail'", "not in the file's header")


async def test_two_columns_mapped_to_one_field_are_refused(client: httpx.AsyncClient) -> None:
    response = await upload(
        client,
        b"name,Work email,email\nA,a@x.io,b@x.io\n",
        mapping={"Work email": "email", "email": "email"},
    )

    _problem(response, 422, "'email'", "Work email")


async def test_a_file_without_any_known_column_is_refused(client: httpx.AsyncClient) -> None:
    _problem(await upload(client, b"foo,bar\n1,2\n"), 422, "no column maps")


async def test_a_bad_on_duplicate_value_is_refused(client: httpx.AsyncClient) -> None:
    response = await upload(client, b"name\nAda\n", on_duplicate="merge")

    _problem(response, 422, "on_duplicate", "'merge'")


async def test_a_header_with_a_duplicate_column_in_use_is_refused(
    client: httpx.AsyncClient,
) -> None:
    response = await upload(client, b"name,email,Email\nAda,a@x.io,b@x.io\n")

    _problem(response, 422, "'email'", "more than once")


async def test_a_header_that_is_not_text_in_the_chosen_encoding_is_refused(
    client: httpx.AsyncClient,
) -> None:
    response = await upload(client, b"name,pr\xe9nom\nAda,Ada\n", fields={"encoding": "utf-8"})

    _problem(response, 422, "header row is not valid utf-8 text", "encoding")


async def test_an_unknown_encoding_is_refused(client: httpx.AsyncClient) -> None:
    response = await upload(client, b"name\nAda\n", fields={"encoding": "klingon-8"})

    _problem(response, 422, "encoding 'klingon-8'")


async def test_an_unknown_form_field_is_a_400(client: httpx.AsyncClient) -> None:
    response = await upload(client, b"name\nAda\n", fields={"dryrun": "true"})

    _problem(response, 400, "unknown form field(s): dryrun")


async def test_a_pdf_is_refused_naming_the_supported_formats(client: httpx.AsyncClient) -> None:
    response = await upload(client, b"%PDF-1.7\n...", filename="contacts.pdf")

    _problem(response, 422, "a PDF document", ".xlsx")


async def test_a_refused_upload_creates_no_job_and_no_event(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await upload(client, b"name,name\nAda,Ada\n")

    assert await outbox(app) == []


@pytest.fixture
async def small_limit_client(running_app: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that accepts uploads of at most 64 bytes."""
    async with running_app(importer_max_upload_bytes=64) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_a_file_larger_than_the_limit_is_refused_with_413(
    small_limit_client: httpx.AsyncClient,
) -> None:
    content = b"name\n" + b"A somewhat long name\n" * 10

    _problem(await upload(small_limit_client, content), 413, "64 bytes")


async def test_a_file_within_the_limit_is_accepted(running_app: AppFactory) -> None:
    async with running_app(importer_max_upload_bytes=64) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            job = await upload_and_read(client, b"name\nAda\n")
            # Once it ended its upload goes (a running import keeps it for its errors.csv).
            await app.state.bus.handle(batch_processed(job["id"], 1, {1: "created"}))
            await wait_for(
                lambda: client.get(f"/v1/imports/{job['id']}/errors.csv", headers=auth()),
                lambda response: response.status_code == 200,
            )

    assert job["total_rows"] == 1
