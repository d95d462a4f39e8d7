"""Against the real embedded broker: an upload's batch reaches CONTACT_COMMANDS, and the contacts
service's answer on IMPORT_RESULTS is consumed and completes the job."""

from __future__ import annotations

import httpx
import pytest

from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ImportContactsBatch
from crm_shared.topics import CONTACT_COMMANDS, IMPORT_RESULTS
from tests.conftest import auth
from tests.importer.conftest import AppFactory
from tests.importer.helpers import batch_processed, job, upload, upload_and_read
from tests.kafka_clients import first_record, producer, reader
from tests.polling import eventually

pytestmark = pytest.mark.integration

WAIT_SECONDS = 20.0


@pytest.fixture
def broker_env(
    platform_env: dict[str, str], broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> EmbeddedBroker:
    """The platform environment, pointed at the real broker."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
    return broker


async def test_an_uploaded_csv_reaches_contact_commands_as_a_batch_command(
    broker_env: EmbeddedBroker, running_app: AppFactory
) -> None:
    async with (
        reader(broker_env.bootstrap_servers, CONTACT_COMMANDS.name) as consumer,
        running_app() as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
    ):
        response = await upload(client, b"name,email\nAda,ada@example.com\nBob,bob@x.io\n")
        job_id = response.json()["id"]
        # Other tests publish on this topic too: the first record keyed by this job.
        record = await first_record(
            consumer,
            lambda r: r.key == job_id.encode(),
            within=WAIT_SECONDS,
            what=f"a batch of job {job_id} on {CONTACT_COMMANDS.name}",
        )

    envelope = EventEnvelope.from_bytes(record.value or b"")
    assert envelope.type == ImportContactsBatch.event_type
    assert envelope.tenant == "acme"
    assert envelope.data["job_id"] == job_id
    assert envelope.data["on_duplicate"] == "skip"
    assert [r["email"] for r in envelope.data["rows"]] == ["ada@example.com", "bob@x.io"]


async def test_batch_results_from_the_broker_complete_the_job(
    broker_env: EmbeddedBroker, running_app: AppFactory
) -> None:
    async with running_app() as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            job_id = (await upload_and_read(client, b"name\nAda\nBob\n"))["id"]
            answer = batch_processed(job_id, 1, {1: "created", 2: "skipped"})
            async with producer(broker_env.bootstrap_servers) as sender:
                await sender.send_and_wait(
                    IMPORT_RESULTS.name, value=answer.to_bytes(), key=job_id.encode()
                )
            # The importer's consumer group joins within ~1 s on Tansu (session timeout / 2).
            state = await eventually(
                lambda: job(client, job_id),
                lambda j: j["status"] == "completed",
                within=WAIT_SECONDS,
                what=f"job {job_id} completed",
            )

    assert (state["created"], state["skipped"], state["processed_rows"]) == (1, 1, 2)


async def test_a_cancelled_job_counts_the_results_of_batches_it_had_sent(
    broker_env: EmbeddedBroker, running_app: AppFactory
) -> None:
    async with running_app(importer_batch_size=2) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            job_id = (await upload_and_read(client, b"name\nAda\nBob\nCy\n"))["id"]
            cancelled = await client.post(f"/v1/imports/{job_id}/cancel", headers=auth())
            async with producer(broker_env.bootstrap_servers) as sender:
                for answer in (
                    batch_processed(job_id, 1, {1: "created", 2: "failed"}),
                    batch_processed(job_id, 2, {3: "created"}),
                ):
                    await sender.send_and_wait(
                        IMPORT_RESULTS.name, value=answer.to_bytes(), key=job_id.encode()
                    )
            # Once every batch it had sent is answered, its failed rows are copied.
            errors = await eventually(
                lambda: client.get(f"/v1/imports/{job_id}/errors.csv", headers=auth()),
                lambda r: r.status_code == 200,
                within=WAIT_SECONDS,
                what=f"errors.csv of cancelled job {job_id}",
            )
            state = await job(client, job_id)

    assert cancelled.json()["status"] == "cancelled"
    assert (state["status"], state["created"], state["failed"]) == ("cancelled", 2, 1)
    assert errors.text.splitlines() == [
        "name,error,warnings",
        "Bob,email is not a valid address,",
    ]


async def test_batches_contacts_skipped_after_a_cancel_count_as_not_applied(
    broker_env: EmbeddedBroker, running_app: AppFactory
) -> None:
    async with running_app(importer_batch_size=2) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            job_id = (await upload_and_read(client, b"name\nAda\nBob\nCy\n"))["id"]
            await client.post(f"/v1/imports/{job_id}/cancel", headers=auth())
            skipped = batch_processed(job_id, 2, {3: "failed"}, cancelled=True)
            async with producer(broker_env.bootstrap_servers) as sender:
                for answer in (batch_processed(job_id, 1, {1: "created", 2: "created"}), skipped):
                    await sender.send_and_wait(
                        IMPORT_RESULTS.name, value=answer.to_bytes(), key=job_id.encode()
                    )
            state = await eventually(
                lambda: job(client, job_id),
                lambda j: j["processed_rows"] == 3,
                within=WAIT_SECONDS,
                what=f"both batches of cancelled job {job_id} answered",
            )

    counts = (state["status"], state["created"], state["failed"], state["not_applied"])
    assert counts == ("cancelled", 2, 0, 1)
