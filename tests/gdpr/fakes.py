"""Fake contacts, timeline and importer APIs for httpx.MockTransport, enforcing tenants."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.identity import PersonIdentifiers, person_hashes
from crm_shared.settings import DEV_SUPPRESSION_KEY
from crm_shared.storage import DocumentStore
from tests.conftest import ADMIN_KEY, EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY

CONTACTS_URL = "http://contacts.test"
TIMELINE_URL = "http://timeline.test"
IMPORTER_URL = "http://importer.test"

TENANT_OF_KEY = {
    ADMIN_KEY: "acme",
    EDITOR_KEY: "acme",
    VIEWER_KEY: "acme",
    OTHER_TENANT_KEY: "globex",
}

ALICE_ID = "0190a000-0000-7000-8000-000000000001"
ALICE: dict[str, Any] = {
    "id": ALICE_ID,
    "name": "Alice Example",
    "email": "Alice@Example.com",
    "phone": "+44 20 7946 0001",
    "company": "Acme Ltd",
    "version": 3,
}


class FakeUpstream:
    """Contacts and timeline services: per-tenant data, 404 for another tenant, 410 once erased."""

    def __init__(self, *, timeline_page_size: int = 2) -> None:
        self.contacts: dict[tuple[str, str], dict[str, Any]] = {}
        self.erased: set[tuple[str, str]] = set()
        self.timeline: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.timeline_page_size = timeline_page_size
        self.requests: list[httpx.Request] = []
        self.unreachable = False
        self.timeline_status: int | None = None
        # The importer's stored rows per tenant, each with the identifier hashes it holds.
        self.import_rows: dict[str, list[tuple[set[str], dict[str, Any]]]] = {}
        self.import_rows_status: int | None = None

    def add_contact(self, tenant: str, contact: dict[str, Any]) -> None:
        """Make a contact visible to the tenant's keys."""
        self.contacts[(tenant, contact["id"])] = contact

    def transport(self) -> httpx.MockTransport:
        """The transport to inject into the composition root."""
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.unreachable:
            raise httpx.ConnectError("connection refused", request=request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        tenant = TENANT_OF_KEY.get(token)
        if tenant is None:
            return httpx.Response(401, json={"title": "Unauthorized"})
        parts = request.url.path.strip("/").split("/")
        base = f"{request.url.scheme}://{request.url.host}"
        if base == CONTACTS_URL and parts == ["v1", "persons", "resolve"]:
            return self._resolve(tenant, orjson.loads(request.content))
        if base == CONTACTS_URL and len(parts) == 3 and parts[:2] == ["v1", "contacts"]:
            return self._contact(tenant, parts[2])
        if base == TIMELINE_URL and len(parts) == 4 and parts[3] == "timeline":
            if self.timeline_status is not None:
                return httpx.Response(self.timeline_status, json={"title": "failing"})
            return self._timeline(tenant, parts[2], request.url.params.get("cursor"))
        if base == IMPORTER_URL and parts == ["v1", "import-rows"]:
            if self.import_rows_status is not None:
                return httpx.Response(self.import_rows_status, json={"title": "failing"})
            wanted = set(request.url.params.get_list("identifier_hash"))
            rows = [row for held, row in self.import_rows.get(tenant, []) if held & wanted]
            return httpx.Response(200, json={"items": rows})
        return httpx.Response(404, json={"title": "Not Found"})

    def _contact(self, tenant: str, contact_id: str) -> httpx.Response:
        if (tenant, contact_id) in self.erased:
            return httpx.Response(410, json={"title": "Gone"})
        contact = self.contacts.get((tenant, contact_id))
        if contact is None:
            return httpx.Response(404, json={"title": "Not Found"})
        return httpx.Response(200, json=contact)

    def _resolve(self, tenant: str, body: dict[str, Any]) -> httpx.Response:
        # Like the contacts service: by id or by any email (case-insensitive), every state.
        wanted_ids = set(body.get("contact_ids", []))
        wanted_emails = {e.strip().lower() for e in body.get("emails", [])}
        records: list[dict[str, Any]] = []
        hashes: list[str] = []
        for (owner, contact_id), contact in sorted(self.contacts.items()):
            emails = {e.lower() for e in (contact.get("email"), *contact.get("emails", ())) if e}
            if owner != tenant or not (contact_id in wanted_ids or emails & wanted_emails):
                continue
            erased = (tenant, contact_id) in self.erased
            state = "erased" if erased else contact.get("state", "live")
            profile = dict(contact) if body.get("with_profiles") else None
            records.append(
                {"id": contact_id, "state": state, "merged_into": None, "profile": profile}
            )
            hashes += person_hashes(
                DEV_SUPPRESSION_KEY.encode(), PersonIdentifiers.of_contact(contact), region="US"
            )
        return httpx.Response(200, json={"records": records, "identifier_hashes": hashes})

    def _timeline(self, tenant: str, contact_id: str, cursor: str | None) -> httpx.Response:
        items = self.timeline.get((tenant, contact_id), [])
        start = int(cursor or 0)
        end = start + self.timeline_page_size
        next_cursor = str(end) if end < len(items) else None
        return httpx.Response(200, json={"items": items[start:end], "next_cursor": next_cursor})


def wrap(
    data: EventData,
    *,
    tenant: str = "acme",
    subject: str | None = None,
    source: str = "crm/contacts",
    actor: str | None = "key_contacts01",
) -> EventEnvelope:
    """An envelope as another service would publish it."""
    return EventEnvelope.wrap(data, source=source, tenant=tenant, subject=subject, actor=actor)


async def outbox(store: DocumentStore) -> list[tuple[str, str | None, EventEnvelope]]:
    """(topic, key, envelope) of every event still waiting in the outbox."""
    pending = await store.pending_events(1000)
    return [
        (e.topic, e.key.decode() if e.key else None, EventEnvelope.from_bytes(e.value))
        for e in pending
    ]
