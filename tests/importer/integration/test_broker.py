"""Against the real embedded broker: an upload's batch reaches CONTACT_COMMANDS, and the contacts
service's answer on IMPORT_RESULTS is consumed and completes the job."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ImportContactsBatch
from crm_shared.topics import CONTACT_COMMANDS, IMPORT_RESULTS
from tests.importer.conftest import AppFactory
from tests.importer.helpers import batch_processed, job, upload, upload_and_read, wait_for

pytestmark = pytest.mark.integration

WAIT_SECONDS = 20.0


@pytest.fixture
def broker_env(
    platform_env: dict[str, str], broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> EmbeddedBroker:
    """The platform environment, pointed at the real broker."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
    return broker


async def _batch_of(consumer: AIOKafkaConsumer, job_id: str) -> ConsumerRecord[bytes, bytes]:
    """The first record on the topic keyed by this job (other tests publish there too)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while loop.time() < deadline:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            for record in records:
                if record.key == job_id.encode():
                    return record
    raise AssertionError(f"no record of job {job_id} within {WAIT_SECONDS}s")


async def test_an_uploaded_csv_reaches_contact_commands_as_a_batch_command(
    broker_env: EmbeddedBroker, running_app: AppFactory
) -> None:
    consumer = AIOKafkaConsumer(
        CONTACT_COMMANDS.name,
        bootstrap_servers=broker_env.bootstrap_servers,
        group_id=f"test-importer-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        # Tansu completes a group join after half the session timeout; keep the test quick.
        session_timeout_ms=2000,
        heartbeat_interval_ms=300,
    )
    await consumer.start()
    try:
        async with running_app() as app:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                response = await upload(client, b"name,email\nAda,ada@example.com\nBob,bob@x.io\n")
                job_id = response.json()["id"]
                record = await _batch_of(consumer, job_id)
    finally:
        await consumer.stop()

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
            producer = AIOKafkaProducer(bootstrap_servers=broker_env.bootstrap_servers)
            await producer.start()
            try:
                answer = batch_processed(job_id, 1, {1: "created", 2: "skipped"})
                await producer.send_and_wait(
                    IMPORT_RESULTS.name, value=answer.to_bytes(), key=job_id.encode()
                )
            finally:
                await producer.stop()
            # The importer's consumer group joins within ~5 s on Tansu (session timeout / 2).
            state = await wait_for(
                lambda: job(client, job_id),
                lambda j: j["status"] == "completed",
                within=WAIT_SECONDS,
            )

    assert (state["created"], state["skipped"], state["processed_rows"]) == (1, 1, 2)
