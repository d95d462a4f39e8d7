"""The contact document: derived fields, changes, deletion and erasure."""

from __future__ import annotations

from typing import Any

from crm_contacts.domain.contact import (
    ERASED_NAME,
    anonymized,
    apply_profile,
    new_contact,
    public_view,
    refresh_derived,
    search_text,
)
from crm_shared.identity import PersonIdentifiers, identifier_hash, person_hashes

NOW = "2026-01-01T00:00:00.000000Z"
LATER = "2026-01-02T00:00:00.000000Z"


def _contact(**profile: object) -> dict[str, Any]:
    return new_contact(
        contact_id="c1",
        tenant="acme",
        profile={"name": "Ada Lovelace", **profile},
        source="manual",
        now=NOW,
    )


def test_new_contact_derives_search_fields() -> None:
    doc = _contact(email="ada@example.com", company="Analytical", tags=["VIP"])
    assert doc["version"] == 1
    assert doc["match_keys"][0] == "e:ada@example.com"
    assert "email_norm" not in doc and "emails_norm" not in doc  # retired: nothing reads them
    assert doc["tags_norm"] == ["vip"]
    assert "analytical" in doc["search_text"] and "ada lovelace" in doc["search_text"]


def test_apply_profile_reports_only_changed_fields() -> None:
    doc = _contact(company="Analytical")
    updated, changes = apply_profile(doc, {"company": "Analytical", "timezone": "Europe/London"})
    assert changes == {"timezone": (None, "Europe/London")}
    assert updated["timezone"] == "Europe/London"


def test_custom_fields_merge_key_by_key() -> None:
    doc = _contact(custom_fields={"plan": "pro", "seats": 3})
    updated, changes = apply_profile(doc, {"custom_fields": {"seats": 5}})
    assert updated["custom_fields"] == {"plan": "pro", "seats": 5}
    assert changes["custom_fields"] == ({"plan": "pro", "seats": 3}, {"plan": "pro", "seats": 5})


def test_custom_fields_can_be_replaced() -> None:
    doc = _contact(custom_fields={"plan": "pro"})
    updated, _ = apply_profile(doc, {"custom_fields": {}}, merge_custom_fields=False)
    assert updated["custom_fields"] == {}


def test_merged_tags_keep_existing_ones_first() -> None:
    doc = _contact(tags=["VIP"])
    updated, changes = apply_profile(doc, {"tags": ["vip", "Partner"]}, merge_tags_=True)
    assert updated["tags"] == ["VIP", "Partner"]
    assert updated["tags_norm"] == ["vip", "partner"]
    assert list(changes) == ["tags"]


def test_same_phone_in_another_format_is_no_change() -> None:
    doc = _contact(phone="+14155552671", phone_raw="+1 415 555 2671")
    updated, changes = apply_profile(doc, {"phone": "+14155552671", "phone_raw": "4155552671"})
    assert changes == {}
    assert updated["phone_raw"] == "+1 415 555 2671"


def test_anonymized_contact_keeps_no_personal_data() -> None:
    doc = _contact(
        email="ada@example.com",
        phone="+14155552671",
        phone_raw="(415) 555-2671",
        company="Analytical",
        timezone="Europe/London",
        tags=["VIP"],
        custom_fields={"plan": "pro"},
    )
    erased = anonymized(doc, LATER)
    assert erased["name"] == ERASED_NAME
    for field in ("email", "phone", "phone_raw", "company", "timezone"):
        assert erased[field] is None
    assert erased["tags"] == [] and erased["tags_norm"] == [] and erased["custom_fields"] == {}
    assert erased["search_text"] == ""
    assert erased["erased_at"] == LATER and erased["version"] == 2
    assert (erased["id"], erased["tenant"], erased["created_at"]) == ("c1", "acme", NOW)


def test_identity_hashes_cover_email_phone_and_typed_phone() -> None:
    key = b"k"
    doc = _contact(email="ada@example.com", phone="+14155552671", phone_raw="4155552671")
    hashes = person_hashes(key, PersonIdentifiers.of_contact(doc), region="US")
    assert hashes == [
        identifier_hash(key, "email", "ada@example.com"),
        identifier_hash(key, "phone", "+14155552671"),
        identifier_hash(key, "phone", "4155552671"),
    ]


def test_public_view_hides_internal_fields() -> None:
    view = public_view(_contact(email="ada@example.com"))
    assert "tenant" not in view and "search_text" not in view and "email_norm" not in view
    assert view["email"] == "ada@example.com"


def test_refresh_derived_drops_the_email_fields_older_code_stored() -> None:
    old = {**_contact(email="ada@example.com"), "email_norm": "x", "emails_norm": ["x"]}
    fresh = refresh_derived(old)  # type: ignore[arg-type]
    assert "email_norm" not in fresh and "emails_norm" not in fresh
    assert fresh["email"] == "ada@example.com"


_DERIVED = ("tags_norm", "search_text", "name_sort", "match_keys")


def test_apply_profile_derives_what_a_full_refresh_derives_for_every_kind_of_change() -> None:
    doc = _contact(
        email="ada@example.com",
        phone="+14155552671",
        phone_raw="415 555 2671",
        company="Analytical",
        tags=["VIP"],
        external_ids={"crm": "7"},
    )
    changes: list[dict[str, Any]] = [
        {"company": "Babbage & Co"},
        {"name": "Augusta King"},
        {"email": "augusta@example.org"},
        {"emails": ["ada@work.example"]},
        {"phone": "+442079460958", "phone_raw": "020 7946 0958"},
        {"phones": ["+14155550000"], "phones_raw": ["(415) 555-0000"]},
        {"tags": ["Partner"]},
        {"external_ids": {"erp": "A-1"}},
        {"timezone": "Europe/London", "custom_fields": {"seats": 5}},
    ]
    for change in changes:
        updated, changed = apply_profile(doc, change, merge_tags_=True)
        assert changed, change
        full = refresh_derived(dict(updated))
        assert {f: updated[f] for f in _DERIVED} == {f: full[f] for f in _DERIVED}, change


def test_refresh_derived_for_some_changed_fields_keeps_the_others_as_they_were() -> None:
    doc = _contact(email="ada@example.com", company="Analytical")
    doc["match_keys"] = ["kept"]  # not recomputed: the company is no input of the match keys
    refresh_derived(doc, {"company"})
    assert doc["match_keys"] == ["kept"]
    assert "analytical" in doc["search_text"]
    doc["company"] = "Babbage"
    refresh_derived(doc, {"company"})
    assert "babbage" in doc["search_text"] and "analytical" not in doc["search_text"]
    refresh_derived(doc, {"name"})
    assert doc["match_keys"][0] == "e:ada@example.com"


def test_refresh_derived_for_some_fields_fills_a_derived_field_the_document_lacks() -> None:
    doc = _contact(email="ada@example.com")
    del doc["match_keys"]
    refresh_derived(doc, {"company"})
    assert doc["match_keys"][0] == "e:ada@example.com"


def test_search_text_folds_each_part_as_a_query_is_folded_accented_or_not() -> None:
    doc = {
        "name": "  Ødegaard   STRAßE ",
        "email": "Martin@Example.COM",
        "phone_raw": "020 7946-0958",
        "company": "Zoë  Ltd",
        "emails": ["  "],
    }
    assert search_text(doc) == (
        "odegaard strasse martin@example.com 020 7946-0958 zoe ltd 02079460958"
    )
    assert search_text({"name": "Ada  LOVELACE", "company": "Analytical"}) == (
        "ada lovelace analytical"
    )
