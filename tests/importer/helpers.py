"""Helpers of the importer tests: uploads, polling with a deadline, the outbox, fake contacts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import orjson
from fastapi import FastAPI

from crm_shared.envelope import EventEnvelope
from crm_shared.events import ImportBatchProcessed, RowResult
from crm_shared.export_fields import contact_path
from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.polling import eventually

T = TypeVar("T")
WAIT_SECONDS = 5.0


async def wait_for(
    fetch: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, within: float = WAIT_SECONDS
) -> T:
    """Poll `fetch` until `done(value)`; fail with the last value after `within` seconds."""
    return await eventually(fetch, done, within=within)


async def upload(
    client: httpx.AsyncClient,
    content: bytes,
    *,
    mapping: dict[str, Any] | str | None = None,
    on_duplicate: str | None = None,
    key: str = EDITOR_KEY,
    fields: dict[str, str] | None = None,
    filename: str = "contacts.csv",
) -> httpx.Response:
    """POST /v1/imports with the file as the `file` part and `fields` as other form fields."""
    data: dict[str, str] = dict(fields or {})
    if mapping is not None:
        data["mapping"] = mapping if isinstance(mapping, str) else json.dumps(mapping)
    if on_duplicate is not None:
        data["on_duplicate"] = on_duplicate
    return await client.post(
        "/v1/imports",
        files={"file": (filename, content, "application/octet-stream")},
        data=data,
        headers=auth(key),
    )


async def job(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    """GET /v1/imports/{id} as the editor."""
    response = await client.get(f"/v1/imports/{job_id}", headers=auth(EDITOR_KEY))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def upload_and_read(
    client: httpx.AsyncClient, content: bytes, **options: Any
) -> dict[str, Any]:
    """Upload a CSV and wait until the worker read the whole file (total_rows exact)."""
    response = await upload(client, content, **options)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    return await wait_for(lambda: job(client, job_id), lambda j: not j["total_rows_estimated"])


@dataclass(frozen=True)
class Published:
    """An outbox entry, decoded."""

    topic: str
    key: str | None
    envelope: EventEnvelope


async def outbox(app: FastAPI, event_type: str | None = None) -> list[Published]:
    """The events waiting in the outbox (the test broker is unreachable), oldest first."""
    pending = await app.state.store.pending_events(100_000)
    found = [
        Published(e.topic, e.key.decode() if e.key else None, EventEnvelope.from_bytes(e.value))
        for e in pending
    ]
    return [p for p in found if event_type is None or p.envelope.type == event_type]


def batch_processed(
    job_id: str,
    batch_no: int,
    statuses: dict[int, str],
    *,
    tenant: str = "acme",
    warnings: dict[int, list[str]] | None = None,
    cancelled: bool = False,
    suppressed: frozenset[int] = frozenset(),
) -> EventEnvelope:
    """The contacts service's answer to a batch: row number -> status ("failed" gets a reason),
    the warnings of some rows, the rows refused for naming an erased person; `cancelled`: the
    batch was skipped after a cancel."""
    results = [
        RowResult(
            row_number=row,
            status=status,
            contact_id=None if status == "failed" else f"contact-{row}",
            error=(
                "the person was erased"
                if row in suppressed
                else "email is not a valid address"
                if status == "failed"
                else None
            ),
            warnings=(warnings or {}).get(row, []),
            suppressed=row in suppressed,
        )
        for row, status in statuses.items()
    ]
    data = ImportBatchProcessed(
        job_id=job_id, batch_no=batch_no, results=results, cancelled=cancelled
    )
    return EventEnvelope.wrap(data, source="crm/contacts", tenant=tenant, subject=job_id)


@dataclass
class FakeContactsApi:
    """A stand-in for `GET /v1/contacts`, its stream and `/v1/custom-fields`, served through
    httpx.MockTransport."""

    contacts: list[dict[str, Any]]
    page_size_seen: list[int] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    status: int = 200
    gate: asyncio.Event | None = None
    # The tenant's custom fields, key -> type; POST /v1/custom-fields adds to them.
    custom_fields: dict[str, str] = field(
        default_factory=lambda: {"plan": "text", "seats": "number", "orders": "number"}
    )

    def _custom_fields(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = json.loads(request.content)
            if body["key"] in self.custom_fields:
                return httpx.Response(409, json={"title": "exists"})
            self.custom_fields[body["key"]] = body["type"]
            return httpx.Response(201, json=body)
        items = [{"key": key, "type": kind} for key, kind in self.custom_fields.items()]
        return httpx.Response(200, json={"items": items})

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one page, keyset-paginated by the index in `cursor`."""
        if request.url.path == "/v1/custom-fields":
            return self._custom_fields(request)
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        if self.status != 200:
            return httpx.Response(self.status, json={"title": "nope"})
        if request.url.path == "/v1/contacts/stream":
            return self._stream(request)
        limit = int(request.url.params["limit"])
        start = int(request.url.params.get("cursor", "0"))
        page = self.contacts[start : start + limit]
        more = start + limit < len(self.contacts)
        return httpx.Response(
            200, json={"items": page, "next_cursor": str(start + limit) if more else None}
        )

    def _stream(self, request: httpx.Request) -> httpx.Response:
        """`GET /v1/contacts/stream`: the contacts after `after` (an id), one JSON per line."""
        after = request.url.params.get("after")
        ids = [c["id"] for c in self.contacts]
        start = ids.index(after) + 1 if after else 0
        chosen = self.contacts[start:]
        if fields := request.url.params.get("fields"):
            chosen = [_projected(c, fields.split(",")) for c in chosen]
        body = b"".join(orjson.dumps(c) + b"\n" for c in chosen)
        return httpx.Response(200, content=body, headers={"content-type": "application/x-ndjson"})

    def transport(self) -> httpx.MockTransport:
        """The transport to hand to create_app."""
        return httpx.MockTransport(self.handle)


def _projected(contact: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """A contact as the stream sends it for `fields`: its id and those fields, nested alike."""
    out: dict[str, Any] = {"id": contact["id"]}
    for name in fields:
        path = contact_path(name)
        assert path is not None, name
        top, _, key = path.partition(".")
        if key:
            held = contact.get(top)
            out.setdefault(top, {})[key] = held.get(key) if isinstance(held, dict) else None
        else:
            out[top] = contact.get(top)
    return out


def contact(n: int, **extra: Any) -> dict[str, Any]:
    """A contact as the contacts API lists it."""
    return {
        "id": f"c{n}",
        "name": f"Person {n}",
        "email": f"p{n}@example.com",
        "phone": None,
        "company": "Acme",
        "timezone": "Europe/Paris",
        "tags": ["vip", "early"],
        "custom_fields": {"plan": "pro", "seats": 3, "langs": ["fr", "en"]},
        "source": "import",
        "created_at": "2026-01-01T00:00:00.000000Z",
        "updated_at": "2026-01-02T00:00:00.000000Z",
        **extra,
    }


async def export_state(client: httpx.AsyncClient, export_id: str) -> dict[str, Any]:
    """GET /v1/exports/{id}."""
    response = await client.get(f"/v1/exports/{export_id}", headers=auth(VIEWER_KEY))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def run_export(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    """Start an export and wait until it is no longer queued or running."""
    response = await client.post("/v1/exports", json=body, headers=auth(VIEWER_KEY))
    assert response.status_code == 202, response.text
    return await wait_for(
        lambda: export_state(client, response.json()["id"]),
        lambda e: e["status"] not in ("queued", "running"),
    )
