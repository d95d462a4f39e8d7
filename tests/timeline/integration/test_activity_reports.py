"""Against the real embedded broker: reports on crm.activities.v1 as another product sends them.

One poll's reports are recorded together; a bad one and one for a contact the tenant does not
have go to the dead-letter topic alone, each with its reason.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord

from crm_shared.cloudevents import STRUCTURED_HEADERS
from crm_shared.devstack import EmbeddedBroker
from crm_shared.envelope import EventEnvelope
from crm_shared.events import ActivityRecordedV2
from crm_shared.ids import new_id
from crm_shared.topics import ACTIVITIES, CONTACT_EVENTS, DEAD_LETTERS
from crm_timeline.bootstrap import create_app
from tests.conftest import auth
from tests.kafka_clients import assigned_reader, first_record, producer
from tests.polling import app_lifespan, eventually
from tests.timeline.factories import created, envelope

pytestmark = pytest.mark.integration

WAIT_SECONDS = 20.0


@pytest.fixture
def broker_env(
    platform_env: dict[str, str], broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> EmbeddedBroker:
    """The platform environment on the real broker, with a short wait for unknown contacts."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
    monkeypatch.setenv("TIMELINE_UNKNOWN_CONTACT_WAIT_SECONDS", "1")
    monkeypatch.setenv("TIMELINE_PARKED_CHECK_SECONDS", "0.2")
    return broker


def _report(contact_id: str, summary: str, **change: Any) -> EventEnvelope:
    good = ActivityRecordedV2.model_validate(
        {
            "contact_id": contact_id,
            "occurred_at": "2025-03-01T09:01:00Z",
            "summary": "placeholder",
            "details": {"type": "email_received", "thread_id": "t-1"},
        }
    )
    report = envelope(good, source="crm/mailer")
    return report.model_copy(update={"data": {**report.data, "summary": summary, **change}})


def _dead_letter_of(record: ConsumerRecord[bytes, bytes], report: EventEnvelope) -> bool:
    # The broker is shared by the session: other tests park records that are not envelopes.
    try:
        return EventEnvelope.from_bytes(record.value or b"").id == report.id
    except ValueError:
        return False


def _headers(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    return {name: value.decode() for name, value in record.headers}


async def test_good_reports_are_recorded_and_bad_or_unknown_ones_dead_lettered_alone(
    broker_env: EmbeddedBroker,
) -> None:
    known, unknown = new_id(), new_id()
    bad = _report(known, "   ")
    stranger = _report(unknown, "Re: your offer")
    reports = [_report(known, "First reply"), bad, stranger, _report(known, "Second reply")]
    app = create_app()
    async with (
        assigned_reader(broker_env.bootstrap_servers, DEAD_LETTERS) as dead_letters,
        app_lifespan(app),
        producer(broker_env.bootstrap_servers) as sender,
    ):
        await sender.send_and_wait(
            CONTACT_EVENTS.name, value=created(known).to_bytes(), key=known.encode()
        )
        for report in reports:
            # Unsent futures: the reports leave together, as one product's burst.
            await sender.send(
                ACTIVITIES.name,
                value=report.to_bytes(),
                key=(report.subject or "").encode(),
                headers=list(STRUCTURED_HEADERS),
            )
        await sender.flush()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await eventually(
                lambda: client.get(
                    f"/v1/contacts/{known}/timeline",
                    params={"type": "email_received"},
                    headers=auth(),
                ),
                lambda r: r.status_code == 200 and len(r.json()["items"]) == 2,
                within=WAIT_SECONDS,
                what="the two good reports on the known contact's timeline",
            )
        refused = await first_record(
            dead_letters,
            lambda r: _dead_letter_of(r, bad),
            within=WAIT_SECONDS,
            what="the schema-invalid report dead-lettered",
        )
        never_known = await first_record(
            dead_letters,
            lambda r: _dead_letter_of(r, stranger),
            within=WAIT_SECONDS,
            what="the report for an unknown contact dead-lettered after its wait",
        )

    assert sorted(i["summary"] for i in response.json()["items"]) == ["First reply", "Second reply"]
    assert _headers(refused)["dlq.reason"] == "schema-invalid"
    assert _headers(refused)["dlq.fields"] == "data.summary"
    assert _headers(never_known)["dlq.reason"] == "unknown-contact"
    assert _headers(never_known)["dlq.fields"] == "contact_id"
    assert "Re: your offer" not in str(never_known.headers)
