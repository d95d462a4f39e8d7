"""With the real embedded broker: the importer's cancel, read apart from the batches, makes the
contacts service skip the cancelled job's later batches and answer them as not applied."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from crm_contacts.adapters.import_cancellations import ImportCancellations
from crm_shared.devstack import EmbeddedBroker
from crm_shared.events import ImportBatchProcessed, ImportJobFinished
from crm_shared.ids import new_id
from crm_shared.topics import CONTACT_COMMANDS, IMPORT_RESULTS, IMPORTER_EVENTS
from tests.conftest import EDITOR_KEY, auth
from tests.contacts.helpers import envelope, import_batch
from tests.contacts.kafka_reading import first_matching
from tests.kafka_clients import producer
from tests.polling import eventually

pytestmark = pytest.mark.integration


async def _recorded(app: FastAPI, job_id: str) -> bool:
    async with app.state.store.reader() as session:
        return await ImportCancellations(session, "acme").is_cancelled(job_id)


async def test_a_batch_sent_after_the_cancel_reached_contacts_is_not_applied(
    live_app: tuple[FastAPI, httpx.AsyncClient], broker: EmbeddedBroker
) -> None:
    app, client = live_app
    job_id = f"job-{new_id()}"
    cancelled = ImportJobFinished(
        job_id=job_id,
        status="failed",
        cancelled=True,
        total_rows=1,
        created=0,
        updated=0,
        skipped=0,
        failed=0,
    )
    batch = import_batch([{"name": "Never Imported", "email": "never@example.com"}], job_id=job_id)
    async with producer(broker.bootstrap_servers) as sender:
        await sender.send_and_wait(
            IMPORTER_EVENTS.name, value=envelope(cancelled).to_bytes(), key=job_id.encode()
        )
        await eventually(
            lambda: _recorded(app, job_id),
            lambda done: done,
            within=30.0,
            what=f"the cancel of {job_id} recorded by contacts",
        )
        await sender.send_and_wait(
            CONTACT_COMMANDS.name, value=envelope(batch).to_bytes(), key=job_id.encode()
        )
    answer = await first_matching(
        broker, IMPORT_RESULTS.name, ImportBatchProcessed.event_type, job_id
    )
    assert answer.data["cancelled"] is True
    assert [r["status"] for r in answer.data["results"]] == ["failed"]
    listed = await client.get("/v1/contacts", params={"q": "never"}, headers=auth(EDITOR_KEY))
    assert listed.json()["items"] == []
