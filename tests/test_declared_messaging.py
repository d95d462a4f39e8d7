"""Each service's message tables match what crm_shared.wiring (and so the AsyncAPI) declares."""

from __future__ import annotations

from pathlib import Path

from crm_contacts.entrypoints import consumers as contacts
from crm_contacts.settings import ContactsSettings
from crm_gdpr.entrypoints import consumers as gdpr
from crm_importer.adapters.files import DataFiles
from crm_importer.entrypoints import consumers as importer
from crm_shared.messaging.bus import MessageBus
from crm_shared.storage.memory import MemoryStore
from crm_shared.wiring import SERVICES, consumer_mismatches
from crm_timeline.entrypoints import consumers as timeline
from crm_timeline.entrypoints import conversation_consumers as conversations
from crm_timeline.settings import TimelineSettings


def _consumers(tmp_path: Path) -> dict[str, list[tuple[str, tuple[str, ...], MessageBus]]]:
    store = MemoryStore()
    contacts_bus = contacts.build_bus(store, ContactsSettings())
    timeline_bus = timeline.build_bus(store, TimelineSettings())
    importer_bus = importer.build_bus(store, DataFiles(tmp_path))
    gdpr_buses = gdpr.build_buses(store)
    return {
        "contacts": [
            (contacts.COMMANDS_GROUP, contacts.COMMANDS_TOPICS, contacts_bus),
            (contacts.ERASURE_GROUP, contacts.ERASURE_TOPICS, contacts_bus),
            (contacts.SOURCES_GROUP, contacts.SOURCES_TOPICS, contacts_bus),
            (contacts.IMPORT_CONTROL_GROUP, contacts.IMPORT_CONTROL_TOPICS, contacts_bus),
        ],
        "timeline": [
            (timeline.EVENTS_GROUP, timeline.EVENTS_TOPICS, timeline_bus),
            (timeline.ERASURE_GROUP, timeline.ERASURE_TOPICS, timeline_bus),
            (
                conversations.CONVERSATIONS_GROUP,
                conversations.CONVERSATIONS_TOPICS,
                conversations.build_conversations_bus(store),
            ),
        ],
        "importer": [
            (importer.RESULTS_GROUP, importer.RESULTS_TOPICS, importer_bus),
            (importer.ERASURE_GROUP, importer.ERASURE_TOPICS, importer_bus),
        ],
        "gdpr": [
            (gdpr.AUDIT_GROUP, gdpr.AUDIT_TOPICS, gdpr_buses.audit),
            (gdpr.RECEIPTS_GROUP, gdpr.RECEIPTS_TOPICS, gdpr_buses.receipts),
        ],
    }


def test_every_consumer_group_matches_its_declaration_and_every_declared_group_runs(
    tmp_path: Path,
) -> None:
    running = _consumers(tmp_path)
    for service, groups in running.items():
        for group, topics, bus in groups:
            assert consumer_mismatches(service, group, topics, bus.event_types) == []
    declared = {(m.service, s.group) for m in SERVICES for s in m.subscriptions}
    assert declared == {(service, g[0]) for service, groups in running.items() for g in groups}
