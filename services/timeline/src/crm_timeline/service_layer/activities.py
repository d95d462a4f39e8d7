"""Handler for activities other products report (over HTTP or crm.activities.v1), in batches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_shared.clock import iso, utcnow
from crm_shared.envelope import EventEnvelope
from crm_shared.events import TimelineActivityRecorded
from crm_shared.ids import new_id
from crm_shared.outbox import outgoing
from crm_shared.storage import DocumentStore, OutgoingEvent
from crm_timeline.adapters.repository import TimelineRepository
from crm_timeline.domain.errors import ContactErased, ContactNotFound, ContactRemoved
from crm_timeline.domain.items import activity_item
from crm_timeline.domain.model import (
    TIMELINE_SOURCE,
    ContactProjection,
    EventOrigin,
    ParkedActivity,
    RecordActivity,
    TimelineItem,
)
from crm_timeline.service_layer.delivery import Delivery, first_deliveries


@dataclass(frozen=True)
class ReportedActivity:
    """One activity to record, with who reported it and the delivery it came with.

    `envelope` is the reporting event as received (None over HTTP): an activity whose contact
    is not known yet is parked with it, and dead-lettered with it if the contact never shows.
    """

    command: RecordActivity
    origin: EventOrigin
    delivery: Delivery | None
    envelope: EventEnvelope | None = None


class Parked:
    """The outcome of an activity kept until its contact's first event arrives."""


PARKED = Parked()
ActivityOutcome = TimelineItem | Parked | Exception | None


async def record_activities(
    store: DocumentStore, reports: Sequence[ReportedActivity], *, park_for: timedelta | None
) -> list[ActivityOutcome]:
    """Record many activities in one transaction; one outcome per report, in order.

    An activity for a contact the tenant does not have is refused (ContactNotFound), unless
    `park_for` is given and it came from a topic: its contact's creation may still be on its way
    (topics interleave), so it waits that long for it. An erased or purged contact refuses
    (ContactErased, ContactRemoved). None is a redelivered report. A refusal fails its report
    alone: the others are recorded.
    """
    outcomes: list[ActivityOutcome] = []
    items: list[TimelineItem] = []
    parked: list[ParkedActivity] = []
    async with store.transaction() as session:
        repo = TimelineRepository(session)
        known = await _contacts_of(repo, reports)
        contacts = [known.get((r.origin.tenant, r.command.contact_id)) for r in reports]
        refusals = [
            _refusal(contact, r.command.contact_id, can_park=park_for is not None and r.envelope)
            for r, contact in zip(reports, contacts, strict=True)
        ]
        # One statement or two for the batch's processed marks, not one per report.
        first = await first_deliveries(
            session, [r.delivery for r, no in zip(reports, refusals, strict=True) if no is None]
        )
        for report, contact, refusal in zip(reports, contacts, refusals, strict=True):
            if refusal is not None:
                outcomes.append(refusal)
            elif report.delivery is not None and not first.take(report.delivery):
                outcomes.append(None)
            elif contact is None:
                assert park_for is not None and report.envelope is not None
                parked.append(_parked(report, report.envelope.model_dump_json(), park_for))
                outcomes.append(PARKED)
            else:
                item = _item(report)
                items.append(item)
                outcomes.append(item)
        await repo.add_items(items)
        await repo.park(parked)
        await session.add_events([recorded_event(item) for item in items])
    return outcomes


def recorded_event(item: TimelineItem) -> OutgoingEvent:
    """The event telling other products and the audit log that an activity was recorded."""
    event = TimelineActivityRecorded(
        contact_id=item.contact_id,
        item_id=item.id,
        item_type=item.type,
        occurred_at=datetime.fromisoformat(item.occurred_at),
        source=item.source,
    )
    return outgoing(
        event, source=TIMELINE_SOURCE, tenant=item.tenant, key=item.contact_id, actor=item.actor
    )


def released_item(parked: ParkedActivity) -> TimelineItem:
    """The item of a parked activity whose contact is now known."""
    return activity_item(
        parked.activity,
        tenant=parked.owner,
        item_id=new_id(),
        source=parked.source,
        actor=parked.actor,
    )


async def _contacts_of(
    repo: TimelineRepository, reports: Sequence[ReportedActivity]
) -> dict[tuple[str, str], ContactProjection]:
    wanted: dict[str, set[str]] = {}
    for report in reports:
        wanted.setdefault(report.origin.tenant, set()).add(report.command.contact_id)
    known: dict[tuple[str, str], ContactProjection] = {}
    for tenant, contact_ids in wanted.items():
        held = await repo.get_contacts(tenant=tenant, contact_ids=contact_ids)
        known.update({(tenant, contact_id): c for contact_id, c in held.items()})
    return known


def _refusal(
    contact: ContactProjection | None, contact_id: str, *, can_park: object
) -> Exception | None:
    if contact is None:
        return None if can_park else ContactNotFound(contact_id)
    if contact.erased:
        return ContactErased(contact_id)
    if contact.purged:
        return ContactRemoved(contact_id)
    return None


def _item(report: ReportedActivity) -> TimelineItem:
    return activity_item(
        report.command,
        tenant=report.origin.tenant,
        item_id=new_id(),
        source=report.origin.source,
        actor=report.origin.actor,
    )


def _parked(report: ReportedActivity, envelope: str, wait: timedelta) -> ParkedActivity:
    return ParkedActivity(
        id=report.delivery.event_id if report.delivery else new_id(),
        owner=report.origin.tenant,
        contact_id=report.command.contact_id,
        expires_at=iso(utcnow() + wait),
        activity=report.command,
        source=report.origin.source,
        actor=report.origin.actor,
        envelope=envelope,
    )
