"""What the services' stores hold after the faults, read from their SQLite files (read-only)."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm_shared.storage.sqlite_ids import read_id
from crm_shared.storage.sqlite_keys import stored_keys
from crm_shared.storage.sqlite_tenants import TENANT_CODE_OF

TENANT = "acme"
# A contact's creation in the audit log: its own event, or its row of an import batch's event.
CREATED = ("crm.contacts.contact.created.v1", "crm.contacts.contacts.imported.v1:created")
MERGED = "crm.contacts.contacts.merged.v1"
ERASURE_COMPLETED = "crm.gdpr.erasure.completed.v1"
CREATION_ITEM_TYPES = ("contact_changed", "imported")
OUTBOXES = ("contacts", "timeline", "importer", "gdpr")


def _rows(database: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _docs(database: Path, collection: str) -> list[dict[str, Any]]:
    # The id and tenant are the row's columns (the stored JSON leaves them out), and declared
    # fields are stored under short codes (sqlite_keys.py).
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        keys = stored_keys(conn, collection)
        sql = f"SELECT id, doc FROM c_{collection} WHERE tenant = {TENANT_CODE_OF}"
        rows = conn.execute(sql, (TENANT,)).fetchall()
    finally:
        conn.close()
    return [
        {**keys.decode(json.loads(doc)), "id": read_id(id_), "tenant": TENANT} for id_, doc in rows
    ]


@dataclass(frozen=True)
class Ledger:
    """Counts across the four stores: committed contacts, applied effects, pending events."""

    contacts: dict[str, dict[str, Any]]
    audit: list[dict[str, Any]]
    timeline_items: list[dict[str, Any]]
    pending_events: dict[str, int]

    @classmethod
    def read(cls, data_dir: Path) -> Ledger:
        """Read every store now."""
        contacts = {doc["id"]: doc for doc in _docs(data_dir / "contacts.sqlite3", "contacts")}
        return cls(
            contacts=contacts,
            audit=_docs(data_dir / "gdpr.sqlite3", "audit_entries"),
            timeline_items=_docs(data_dir / "timeline.sqlite3", "items"),
            pending_events={
                name: int(_rows(data_dir / f"{name}.sqlite3", "SELECT COUNT(*) FROM _outbox")[0][0])
                for name in OUTBOXES
            },
        )

    def audited(self, *actions: str) -> Counter[str]:
        """Audit entries of these actions, counted per target."""
        return Counter(entry["target"] for entry in self.audit if entry["action"] in actions)

    def audit_entries_seen_twice(self) -> list[tuple[str, str]]:
        """(event id, target) pairs the audit log recorded more than once (a double effect).

        A batch event (an import's) is recorded once per contact it names, hence the pair.
        """
        counts = Counter((entry.get("event_id"), entry["target"]) for entry in self.audit)
        return [pair for pair, n in counts.items() if n > 1 and pair[0]]

    def timeline_creations(self) -> Counter[str]:
        """Timeline items telling a contact's creation (by hand or by import), per contact.

        A creation by hand is a `contact_changed` item, an imported one an `imported` item; both
        summaries start the same way.
        """
        return Counter(
            item["contact_id"]
            for item in self.timeline_items
            if item.get("type") in CREATION_ITEM_TYPES
            and str(item.get("summary", "")).startswith("Contact created")
        )
