"""The same person gives the same identifier hashes in contacts, gdpr and the importer.

Each service's own code path runs: contacts suppresses a stored contact at erasure, gdpr hashes
the contact as the contacts API returns it when it opens an erasure request, and the importer
hashes the cells of a row it failed. An erasure finds a failed row only if these agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crm_contacts.adapters.repository import COLLECTION_SPECS as CONTACTS_COLLECTIONS
from crm_contacts.adapters.repository import SUPPRESSIONS
from crm_contacts.domain.commands import CreateContact, EraseContact
from crm_contacts.domain.contact import public_view
from crm_contacts.domain.person import ResolvePerson
from crm_contacts.entrypoints.schemas import ContactPublic
from crm_contacts.service_layer.erasure import erase_contact
from crm_contacts.service_layer.handlers import create_contact
from crm_contacts.service_layer.person import resolve_person
from crm_contacts.settings import ContactsSettings
from crm_gdpr.adapters.repositories import COLLECTION_SPECS as GDPR_COLLECTIONS
from crm_gdpr.domain.erasure import RequestErasure
from crm_gdpr.domain.person import PersonFound
from crm_gdpr.service_layer.erasure import request_erasure
from crm_importer.domain.mapping import plan_columns
from crm_importer.domain.rows import RowFailure, RowMapper
from crm_importer.service_layer.reading import ReadingOptions, failure_doc
from crm_shared.envelope import EventEnvelope
from crm_shared.storage.sqlite import SqliteStore

REGION = "GB"
KEY = b"cross-service-test-key"
TENANT = "acme"

PEOPLE: dict[str, dict[str, Any]] = {
    "ascii, national phones": {
        "name": "Ada Lovelace",
        "email": "Ada.Lovelace@Example.COM",
        "emails": ["ada@home.example"],
        "phone": "020 7946 0958",
        "phones": ["07911 123456"],
    },
    "idna domains, punctuated and foreign phones": {
        "name": "Zoe Bucher",
        "email": " zoe@Bücher.de ",
        "emails": ["Zoe.Work@例え.テスト", "zoe@xn--bcher-kva.de.example"],
        "phone": "(020) 7946-0000",
        "phones": ["+1 (415) 555-2671", "+33 1 23 45 67 89"],
    },
    "no phone": {"name": "Mo Only-Email", "email": "mo@example.org"},
}
# The importer's columns: an unknown header maps to a custom field, so every cell is kept.
HEADER = ["name", "email", "phone", "Work email", "Other email", "Mobile", "Other phone"]


class ContactsApi:
    """gdpr's view of the contacts service: its resolve endpoint's answer for the person."""

    def __init__(self, found: PersonFound) -> None:
        self._found = found

    async def resolve_person(self, **_: Any) -> PersonFound:
        return self._found


@pytest.fixture
def settings(platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> ContactsSettings:
    monkeypatch.setenv("CRM_SUPPRESSION_KEY", KEY.decode())
    monkeypatch.setenv("CRM_DEFAULT_REGION", REGION)
    return ContactsSettings()


async def _contacts_hashes(
    tmp_path: Path, settings: ContactsSettings, person: dict[str, Any]
) -> tuple[set[str], dict[str, Any]]:
    """What contacts suppresses when it erases the person, and the person as its API shows it."""
    store = SqliteStore(tmp_path / "contacts.sqlite3")
    await store.start(CONTACTS_COLLECTIONS)
    try:
        doc = await create_contact(
            store, CreateContact(fields=person), tenant=TENANT, actor="t", settings=settings
        )
        api_shape = ContactPublic.model_validate(public_view(doc)).model_dump(mode="json")
        # What the contacts service's resolve endpoint answers gdpr, before the erasure.
        resolved = await resolve_person(
            store,
            ResolvePerson(contact_ids=(doc["id"],)),
            tenant=TENANT,
            suppression_key=KEY,
            region=REGION,
        )
        api_shape["_found"] = PersonFound(
            records=[{"id": doc["id"], "state": "live"}],
            identifier_hashes=list(resolved.identifier_hashes),
        )
        command = EraseContact(erasure_id="er-1", contact_id=doc["id"])
        assert await erase_contact(store, command, tenant=TENANT, settings=settings)
        async with store.reader() as session:
            rows = await session.find(SUPPRESSIONS, tenant=TENANT, limit=1000)
    finally:
        await store.close()
    return {row["hash"] for row in rows}, api_shape


async def _gdpr_hashes(tmp_path: Path, contact: dict[str, Any]) -> set[str]:
    """The hashes gdpr's erasure request carries for a contact fetched from the contacts API."""
    store = SqliteStore(tmp_path / "gdpr.sqlite3")
    await store.start(GDPR_COLLECTIONS)
    try:
        await request_erasure(
            store,
            ContactsApi(contact["_found"]),
            RequestErasure(selector="contact_id", contact_ids=(contact["id"],)),
            tenant=TENANT,
            actor="t",
            suppression_key=KEY,
            region=REGION,
            deadline_days=30,
            received=datetime.now(UTC),
        )
        [pending] = await store.pending_events(10)
    finally:
        await store.close()
    return set(EventEnvelope.from_bytes(pending.value).data["identifier_hashes"])


def _importer_hashes(cells: list[str]) -> set[str]:
    """The hashes the importer stores with a row that failed (one cell too many)."""
    mapping = {h: f"custom.{h.lower().replace(' ', '_')}" for h in HEADER[3:]}
    mapper = RowMapper(plan_columns(HEADER, mapping), max_row_bytes=4096)
    failure = mapper.map(2, [*cells, "one cell too many"])
    assert isinstance(failure, RowFailure)
    options = ReadingOptions(
        batch_size=10, batch_max_bytes=64 * 1024, suppression_key=KEY, default_region=REGION
    )
    doc = failure_doc(failure, options)
    hashes = doc.get("identifier_hashes", [])
    assert isinstance(hashes, list)
    return set(hashes)


def _row(person: dict[str, Any]) -> list[str]:
    emails = [*person.get("emails", ()), "", ""][:2]
    phones = [*person.get("phones", ()), "", ""][:2]
    return [person["name"], person["email"], person.get("phone", ""), *emails, *phones]


@pytest.mark.parametrize("person", PEOPLE.values(), ids=list(PEOPLE))
async def test_the_three_services_hash_a_person_alike(
    tmp_path: Path, settings: ContactsSettings, person: dict[str, Any]
) -> None:
    contacts, api_shape = await _contacts_hashes(tmp_path, settings, person)
    gdpr = await _gdpr_hashes(tmp_path, api_shape)
    importer = _importer_hashes(_row(person))

    emails = 1 + len(person.get("emails", ()))
    assert len(contacts) >= emails + 2 * len(person.get("phones", ()))
    assert gdpr == contacts
    assert importer == contacts


async def test_a_failed_row_holding_only_an_additional_email_is_found_by_the_erasure(
    tmp_path: Path, settings: ContactsSettings
) -> None:
    person = PEOPLE["idna domains, punctuated and foreign phones"]
    _, api_shape = await _contacts_hashes(tmp_path, settings, person)
    gdpr = await _gdpr_hashes(tmp_path, api_shape)

    for additional in (*person["emails"], *person["phones"]):
        row = _importer_hashes(["Somebody", additional.upper(), "", "", "", "", ""])
        assert row and row <= gdpr, additional
