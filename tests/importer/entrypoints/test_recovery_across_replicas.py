"""Two importer instances on one store and one data folder, as replicas run: an instance that
starts cleans up only after instances that are gone, never a live one's export or upload."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from crm_importer.adapters.files import DataFiles
from tests.conftest import auth
from tests.importer.helpers import FakeContactsApi, contact, export_state
from tests.polling import eventually

BOUNDARY = "replica-test-boundary"


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _slow_upload(arrived: asyncio.Event, finish: asyncio.Event) -> AsyncIterator[bytes]:
    """A multipart CSV upload whose second half arrives only when `finish` is set."""
    yield (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="file"; filename="people.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
        "name,email\r\nAda Lovelace,ada@example.org\r\n"
    ).encode()
    arrived.set()
    await finish.wait()
    yield f"Grace Hopper,grace@example.org\r\n\r\n--{BOUNDARY}--\r\n".encode()


def _folder(platform_env: dict[str, str]) -> Path:
    return Path(platform_env["CRM_DATA_DIR"]) / "importer"


async def test_a_replica_restarting_leaves_the_live_replicas_export_and_upload_alone(
    running_app: Any, contacts_api: FakeContactsApi, platform_env: dict[str, str]
) -> None:
    contacts_api.contacts = [contact(1), contact(2)]
    contacts_api.gate = asyncio.Event()  # the export waits mid-way for its first page
    arrived, finish = asyncio.Event(), asyncio.Event()
    folder = _folder(platform_env)
    async with running_app() as live, _client(live) as client:
        started = await client.post("/v1/exports", json={"fields": ["name"]}, headers=auth())
        assert started.status_code == 202, started.text
        export_id = started.json()["id"]
        await eventually(lambda: contacts_api.requests, what="the export to be writing")
        upload = asyncio.create_task(
            client.post(
                "/v1/imports",
                content=_slow_upload(arrived, finish),
                headers={
                    **auth(),
                    "content-type": f"multipart/form-data; boundary={BOUNDARY}",
                },
            )
        )
        await asyncio.wait_for(arrived.wait(), 10)
        arriving = await eventually(
            lambda: list((folder / "uploads").glob("*.part")), what="the upload to be arriving"
        )
        writing = sorted(p.name for p in (folder / "exports").glob("*.part"))
        assert writing == [f"{export_id}.csv.part", f"{export_id}.ids.part"]

        # The other replica starts, stops and starts again: each start runs the recovery.
        for _ in range(2):
            async with running_app() as other:
                assert other.state.files.owner != live.state.files.owner

        assert all(path.exists() for path in arriving), "a live replica's upload was deleted"
        assert sorted(p.name for p in (folder / "exports").glob("*.part")) == writing
        assert (await export_state(client, export_id))["status"] == "running"

        contacts_api.gate.set()
        finish.set()
        response = await asyncio.wait_for(upload, 10)
        assert response.status_code == 202, response.text
        done = await eventually(
            lambda: export_state(client, export_id),
            lambda e: e["status"] != "running",
            what="the export to finish",
        )
        assert (done["status"], done["rows"]) == ("completed", 2)


async def test_a_live_replica_starting_fails_only_the_gone_replicas_work(
    running_app: Any, contacts_api: FakeContactsApi, platform_env: dict[str, str]
) -> None:
    contacts_api.contacts = [contact(1)]
    contacts_api.gate = asyncio.Event()
    folder = _folder(platform_env)
    async with running_app() as live, _client(live) as live_client:
        kept = await live_client.post("/v1/exports", json={"fields": ["name"]}, headers=auth())
        # Another instance starts an export and stops while it is being written; it also left a
        # half-written upload. Stopped, its presence is released: its work is nobody's now.
        async with running_app() as gone, _client(gone) as gone_client:
            lost = await gone_client.post("/v1/exports", json={"fields": ["name"]}, headers=auth())
            await eventually(lambda: len(contacts_api.requests) >= 2, what="both exports writing")
            gone_owner = gone.state.files.owner
        left = DataFiles(folder, owner=gone_owner).partial_upload_path("left-by-crash")
        left.write_text("name\n")
        live_upload = live.state.files.partial_upload_path("still-arriving")
        live_upload.write_text("name\n")

        async with running_app() as starting, _client(starting) as client:
            lost_state = await export_state(client, lost.json()["id"])
            kept_state = await export_state(client, kept.json()["id"])

        assert (lost_state["status"], lost_state["error"]) == (
            "failed",
            "interrupted by a restart; run it again",
        )
        assert kept_state["status"] == "running"
        assert not left.exists() and live_upload.exists()
        contacts_api.gate.set()
        done = await eventually(
            lambda: export_state(live_client, kept.json()["id"]),
            lambda e: e["status"] != "running",
            what="the live replica's export to finish",
        )
        assert done["status"] == "completed"


async def test_a_running_replica_cleans_up_after_a_gone_one_without_a_restart(
    running_app: Any, contacts_api: FakeContactsApi, platform_env: dict[str, str]
) -> None:
    contacts_api.contacts = [contact(1)]
    contacts_api.gate = asyncio.Event()
    folder = _folder(platform_env)
    async with running_app(importer_recovery_interval_seconds=0.2) as live, _client(live) as client:
        kept = await client.post("/v1/exports", json={"fields": ["name"]}, headers=auth())
        async with running_app() as gone, _client(gone) as gone_client:
            lost = await gone_client.post("/v1/exports", json={"fields": ["name"]}, headers=auth())
            await eventually(lambda: len(contacts_api.requests) >= 2, what="both exports writing")
            gone_owner = gone.state.files.owner
        left = DataFiles(folder, owner=gone_owner).partial_upload_path("left-by-crash")
        left.write_text("name\n")

        # No importer starts: the live one's periodic recovery finds the gone one's work.
        failed = await eventually(
            lambda: export_state(client, lost.json()["id"]),
            lambda e: e["status"] == "failed",
            what="the gone replica's export to be failed",
        )
        assert failed["error"] == "interrupted by a restart; run it again"
        await eventually(lambda: not left.exists(), what="the gone replica's upload deleted")
        assert (await export_state(client, kept.json()["id"]))["status"] == "running"
        contacts_api.gate.set()
        done = await eventually(
            lambda: export_state(client, kept.json()["id"]),
            lambda e: e["status"] != "running",
            what="the live replica's export to finish",
        )
        assert done["status"] == "completed"
