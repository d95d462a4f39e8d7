"""Batches stay under their byte bound however cells escape in JSON, so the broker takes them."""

from __future__ import annotations

import httpx

from crm_shared.events import ImportContactsBatch
from tests.importer.conftest import AppFactory
from tests.importer.helpers import outbox, upload_and_read

LIMIT = 16 * 1024
ENVELOPE_OVERHEAD = 1024  # the CloudEvents attributes around the rows


async def test_batches_of_awkward_cells_stay_within_the_byte_bound(running_app: AppFactory) -> None:
    awkward = '"" \\ \x01\x02 ' * 30  # quotes, backslashes and control characters expand in JSON
    tags = ";".join("t" for _ in range(150))  # each one-letter tag becomes "t",
    row = f'"{awkward.replace(chr(34), chr(34) * 2)}","{tags}"\n'
    csv = ("name,tags\n" + row * 200).encode()

    async with running_app(importer_batch_max_bytes=LIMIT) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            job = await upload_and_read(client, csv)
        pending = await app.state.store.pending_events(10_000)
        batches = await outbox(app, ImportContactsBatch.event_type)

    assert job["total_rows"] == 200
    assert sum(len(b.envelope.data["rows"]) for b in batches) == 200
    assert len(batches) > 1
    assert max(len(p.value) for p in pending) <= LIMIT + ENVELOPE_OVERHEAD
