"""The in-memory filter (tag rules) and the database query (listing) agree on the same contacts."""

from __future__ import annotations

from typing import Any

import pytest

from crm_contacts.adapters.custom_fields import CustomFieldRepository
from crm_contacts.domain.filter_match import matches
from crm_shared.events import ConsentChanged
from crm_shared.filters import ContactFilter
from crm_shared.ids import new_id
from tests.conftest import ADMIN_KEY, EDITOR_KEY, auth
from tests.contacts.custom_field_support import define_field
from tests.contacts.helpers import Harness, envelope

CONTACTS: list[dict[str, Any]] = [
    {
        "name": "Zoë Müller",
        "email": "zoe@example.com",
        "phone": "+1 415 555 2671",
        "company": "Analytical Engines",
        "tags": ["VIP", "Customer"],
        "owner": "user-1",
        "custom_fields": {
            "seats": 12,
            "renewal": "2025-03-01",
            "plan": "Pro",
            "channels": ["Email", "SMS"],
            "vip": True,
            "note": "Likes tea",
        },
    },
    {
        "name": "Grace Hopper",
        "email": "grace@navy.example",
        "emails": ["g.hopper@example.org"],
        "company": "Navy",
        "tags": ["Prospect"],
        "source": "chat",
        "custom_fields": {"seats": 3, "renewal": "2024-12-31", "plan": "Free", "vip": False},
    },
    {
        "name": "Alan Turing",
        "phone": "+44 20 7946 0958",
        "tags": ["customer", "Partner"],
        "owner": "user-2",
        "source": "form",
        "custom_fields": {"seats": 40.5, "channels": ["SMS"]},
    },
    {"name": "Edsger Dijkstra", "company": "Eindhoven", "custom_fields": {"note": "likes tea"}},
]

FILTERS: list[dict[str, Any]] = [
    {},
    {"q": "zoe"},
    {"q": "MULLER"},
    {"q": "opp"},
    {"q": "navy.exam"},
    {"q": "hopper@example"},
    {"q": "415 555"},
    {"q": "2671"},
    {"q": "analytical eng"},
    {"q": "nobody"},
    {"tag": ["customer"]},
    {"tag": ["Customer", "vip"]},
    {"tag_any": ["partner", "prospect"]},
    {"tag_none": ["customer"]},
    {"tag": ["source:chat"]},
    {"owner": "user-1"},
    {"source": "form"},
    {"source": "manual", "tag_none": ["vip"]},
    {"created_after": "2000-01-01T00:00:00Z"},
    {"created_before": "2000-01-01T00:00:00Z"},
    {"updated_after": "2999-01-01T00:00:00Z"},
    {"custom": [{"key": "seats", "eq": 12}]},
    {"custom": [{"key": "seats", "eq": "12"}]},
    {"custom": [{"key": "seats", "gte": 10}]},
    {"custom": [{"key": "seats", "gte": 3, "lte": 12}]},
    {"custom": [{"key": "seats", "lte": "40.5"}]},
    {"custom": [{"key": "renewal", "gte": "2025-01-01"}]},
    {"custom": [{"key": "renewal", "lte": "2025-01-01"}]},
    {"custom": [{"key": "plan", "eq": "pro"}]},
    {"custom": [{"key": "channels", "contains": "sms"}]},
    {"custom": [{"key": "channels", "eq": "Email"}]},
    {"custom": [{"key": "vip", "eq": False}]},
    {"custom": [{"key": "vip", "eq": "true"}]},
    {"custom": [{"key": "note", "eq": "likes tea"}]},
    {"tag": ["customer"], "custom": [{"key": "seats", "gte": 20}], "q": "turing"},
    {"deleted": True},
    {"consent": ["marketing:email"]},
    {"consent": ["!marketing:email"]},
    {"consent": ["marketing:any", "!newsletter:sms"]},
    {"consent": "!marketing:sms", "tag": ["customer"]},
]


async def _load(harness: Harness) -> None:
    await define_field(harness, "seats", "number")
    await define_field(harness, "renewal", "date")
    await define_field(harness, "plan", "dropdown", options=["Free", "Pro"])
    await define_field(harness, "channels", "multi_select", options=["Email", "SMS"])
    await define_field(harness, "vip", "boolean")
    await define_field(harness, "note", "text")
    ids = [(await harness.create(**contact))["id"] for contact in CONTACTS]
    # One soft-deleted contact, so `deleted` is compared too.
    deleted = await harness.create(name="Ada Deleted", tags=["VIP"])
    response = await harness.client.delete(
        f"/v1/contacts/{deleted['id']}", headers=auth(EDITOR_KEY)
    )
    assert response.status_code == 204
    assert len(ids) == len(CONTACTS)
    # Consents as the gdpr ledger announces them: granted everywhere, granted then withdrawn.
    for contact_id, status, channel in (
        (ids[0], "granted", "any"),
        (ids[1], "granted", "email"),
        (ids[1], "withdrawn", "email"),
    ):
        decision = {"contact_id": contact_id, "purpose": "marketing", "status": status}
        await harness.handle(
            envelope(ConsentChanged(**decision, channel=channel, entry_id=new_id()))
        )


async def _from_database(harness: Harness, criteria: dict[str, Any]) -> set[str]:
    response = await harness.client.post(
        "/v1/contacts/search",
        json={"filter": criteria, "limit": 200},
        headers=auth(ADMIN_KEY),
    )
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def _in_memory(harness: Harness, criteria: dict[str, Any]) -> set[str]:
    async with harness.app.state.store.reader() as session:
        definitions = await CustomFieldRepository(session, "acme").all()
        docs = await session.find("contacts", tenant="acme", limit=1000)
    contact_filter = ContactFilter.model_validate(criteria)
    return {doc["id"] for doc in docs if matches(contact_filter, doc, definitions)}


async def test_filters_select_the_same_contacts_in_memory_and_in_the_database(
    harness: Harness,
) -> None:
    await _load(harness)
    disagreements = {}
    for criteria in FILTERS:
        database = await _from_database(harness, criteria)
        memory = await _in_memory(harness, criteria)
        if database != memory:
            disagreements[str(criteria)] = (len(database), len(memory))
    assert disagreements == {}


@pytest.mark.parametrize(
    "criteria",
    [{"q": "zoe"}, {"custom": [{"key": "seats", "gte": 10}]}, {"consent": ["!marketing:email"]}],
)
async def test_the_parity_check_is_not_vacuous(harness: Harness, criteria: dict[str, Any]) -> None:
    await _load(harness)
    found = await _in_memory(harness, criteria)
    assert 0 < len(found) < len(CONTACTS)
