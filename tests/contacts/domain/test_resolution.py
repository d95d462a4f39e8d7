"""The identity-resolution rules: lookup order, never blanking, appending, the last writer."""

from __future__ import annotations

from typing import Any

import pytest

from crm_contacts.domain.contact import new_contact
from crm_contacts.domain.resolution import (
    Arrival,
    ExternalIdTaken,
    ExternalRef,
    new_contact_profile,
    oldest,
    resolve_update,
    written_times,
)

EARLY, NOW, LATER = (
    "2026-01-01T00:00:00.000000Z",
    "2026-02-01T00:00:00.000000Z",
    "2026-03-01T00:00:00.000000Z",
)


def _contact(**profile: Any) -> dict[str, Any]:
    doc = dict(new_contact(contact_id="c1", tenant="acme", profile=profile, source="chat", now=NOW))
    doc["field_times"] = written_times(profile, NOW)
    return doc


def _arrival(at: str = NOW, external: ExternalRef | None = None, **profile: Any) -> Arrival:
    return Arrival(source="integration", profile=profile, occurred_at=at, external=external)


def test_lookup_goes_by_external_id_then_every_email_then_every_phone() -> None:
    arrival = _arrival(
        external=ExternalRef("shop", "c-1"),
        email="a@x.example",
        emails=["b@x.example"],
        phone="+14155552671",
    )
    assert arrival.lookup_steps() == [
        ["x:shop:c-1"],
        ["e:a@x.example", "e:b@x.example"],
        ["p:+14155552671"],
    ]
    assert _arrival(phone="+14155552671").lookup_steps() == [["p:+14155552671"]]


def test_the_oldest_holder_wins() -> None:
    docs = [
        {"id": "b", "created_at": LATER},
        {"id": "a", "created_at": EARLY},
        {"id": "c", "created_at": EARLY},
    ]
    assert oldest(docs)["id"] == "a"


def test_empty_values_change_nothing() -> None:
    doc = _contact(name="Ada", company="AE", email="ada@x.example")
    change = resolve_update(doc, _arrival(LATER, name="", company=None, email=None))
    assert change.profile == {"sources": ["chat", "integration"]}


def test_a_new_email_and_phone_are_added_and_the_primary_stays() -> None:
    doc = _contact(name="Ada", email="ada@x.example", phone="+14155552671")
    change = resolve_update(
        doc, _arrival(email="ada@home.example", phone="+442079460958", phone_raw="020 7946 0958")
    )
    assert "email" not in change.profile and "phone" not in change.profile
    assert change.profile["emails"] == ["ada@home.example"]
    assert change.profile["phones"] == ["+442079460958"]
    assert change.profile["phones_raw"] == ["020 7946 0958"]


def test_a_missing_primary_is_filled() -> None:
    doc = _contact(name="Ada", email="ada@x.example")
    change = resolve_update(doc, _arrival(phone="+14155552671", phone_raw="(415) 555-2671"))
    assert (change.profile["phone"], change.profile["phone_raw"]) == (
        "+14155552671",
        "(415) 555-2671",
    )


def test_a_newer_write_replaces_a_single_value_and_an_older_one_only_fills_blanks() -> None:
    doc = _contact(name="Ada King", email="ada@x.example")
    older = resolve_update(doc, _arrival(EARLY, name="Ada Byron", company="AE"))
    assert "name" not in older.profile and older.profile["company"] == "AE"
    assert older.field_times["company"] == EARLY and older.field_times["name"] == NOW
    newer = resolve_update(doc, _arrival(LATER, name="Ada Lovelace"))
    assert newer.profile["name"] == "Ada Lovelace" and newer.field_times["name"] == LATER


def test_custom_values_follow_the_rule_key_by_key() -> None:
    doc = _contact(name="Ada", email="a@x.example", custom_fields={"plan": "pro"})
    change = resolve_update(doc, _arrival(EARLY, custom_fields={"plan": "free", "tier": "gold"}))
    assert change.profile["custom_fields"] == {"tier": "gold"}


def test_another_systems_id_is_added_and_another_id_of_the_same_system_refused() -> None:
    doc = _contact(name="Ada", email="a@x.example")
    doc["external_ids"] = {"shop": "c-1"}
    added = resolve_update(doc, _arrival(external=ExternalRef("crm", "9")))
    assert added.profile["external_ids"] == {"shop": "c-1", "crm": "9"}
    same = resolve_update(doc, _arrival(external=ExternalRef("shop", "c-1")))
    assert "external_ids" not in same.profile
    with pytest.raises(ExternalIdTaken):
        resolve_update(doc, _arrival(external=ExternalRef("shop", "c-2")))


def test_a_new_contact_is_named_by_its_email_or_phone_when_no_name_is_given() -> None:
    by_email = new_contact_profile(_arrival(email="a@x.example", external=ExternalRef("s", "1")))
    assert by_email["name"] == "a@x.example" and by_email["external_ids"] == {"s": "1"}
    by_phone = new_contact_profile(_arrival(phone="+14155552671", phone_raw="(415) 555-2671"))
    assert by_phone["name"] == "(415) 555-2671"
