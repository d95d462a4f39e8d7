"""A contact's JSON written straight from its stored document: ContactPublic's, byte for byte."""

from __future__ import annotations

from typing import Any

from crm_contacts.domain.contact import public_view
from crm_contacts.entrypoints.http import public_json
from crm_contacts.entrypoints.schemas import ContactPublic
from crm_contacts.service_layer import queries
from tests.conftest import EDITOR_KEY, VIEWER_KEY, auth
from tests.contacts.custom_field_support import define_field, define_fields
from tests.contacts.entrypoints.merge_support import duplicate, merged
from tests.contacts.helpers import Harness

# Every kind of value a custom field or a profile field holds, the awkward ones included.
CUSTOM_VALUES: list[dict[str, Any]] = [
    {"plan": "Pro", "channels": ["Email", "SMS"], "seats": 12, "active": True},
    {"seats": 0.1, "ratio": 1e16, "tiny": 1e-7, "active": False, "since": "2024-02-29"},
    {"seats": -0.0, "ratio": 123456789012345680.0, "tiny": 5e-324, "big": 9007199254740993},
    {"site": "https://example.com/a?b=c&d=é", "contact": "x@example.com", "plan": None},
    {"notes": 'quote " backslash \\ slash / tab \t newline \n nul-free \x7f \u2028 \U0001f600'},
    {},
]


def _model_json(doc: dict[str, Any]) -> bytes:
    return ContactPublic.model_validate(public_view(doc)).model_dump_json().encode()


async def _same_as_the_model(harness: Harness, contact_id: str) -> dict[str, Any]:
    doc = await queries.get_contact(harness.app.state.store, contact_id, tenant="acme")
    assert public_json(doc) == _model_json(doc)
    answer = await harness.client.get(f"/v1/contacts/{contact_id}", headers=auth(VIEWER_KEY))
    assert answer.status_code == 200
    assert answer.content == _model_json(doc)
    return doc


async def test_custom_fields_of_every_type_read_as_the_model_writes_them(
    harness: Harness,
) -> None:
    await define_field(harness, "plan", "dropdown", options=["Free", "Pro"])
    await define_field(harness, "channels", "multi_select", options=["Email", "SMS", "Phone"])
    await define_fields(
        harness,
        seats="number",
        ratio="number",
        tiny="number",
        big="number",
        active="boolean",
        since="date",
        site="url",
        contact="email",
        notes="text",
    )
    for n, custom in enumerate(CUSTOM_VALUES):
        made = await harness.create(
            name=f"Ådà Nüñez 李 {n}", email=f"ada{n}@x.example", custom_fields=custom
        )
        doc = await _same_as_the_model(harness, made["id"])
        kept = {key for key, value in custom.items() if value is not None}
        assert kept <= doc["custom_fields"].keys()  # the values did reach the stored document


async def test_profiles_with_nulls_lists_and_tags_read_as_the_model_writes_them(
    harness: Harness,
) -> None:
    bare = await harness.create(name="Only A Name")
    full = await harness.create(
        name="Zoë O'Brien",
        email="zoe@x.example",
        phone="+44 20 7946 0958",
        emails=["zoe.other@x.example"],
        company="Ünïcode Ltd",
        timezone="Europe/London",
        tags=["VIP", "émigré", "a b"],
    )
    for made in (bare, full):
        await _same_as_the_model(harness, made["id"])


async def test_a_merge_survivor_and_a_deleted_then_restored_contact_read_as_the_model_writes_them(
    harness: Harness,
) -> None:
    first = await duplicate(harness, name="Ada", email="ada@x.example", tags=["A"])
    second = await duplicate(harness, name="Ada L.", email="ada@x.example", phone="+14155550100")
    await merged(harness, first["id"], second["id"])
    await _same_as_the_model(harness, first["id"])
    gone = await harness.create(name="Bob", email="bob@x.example")
    path = f"/v1/contacts/{gone['id']}"
    assert (await harness.client.delete(path, headers=auth(EDITOR_KEY))).status_code == 204
    restored = await harness.client.post(f"{path}/restore", headers=auth(EDITOR_KEY))
    assert restored.status_code == 200, restored.text
    await _same_as_the_model(harness, gone["id"])
