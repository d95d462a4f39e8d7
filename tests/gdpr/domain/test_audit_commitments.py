"""Value commitments: the bytes committed to are the documented JSON, whatever writes them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from crm_gdpr.domain.audit import GENESIS_HASH, AuditDraft, ChainWalker, chain_entries
from crm_gdpr.domain.audit_events import audit_drafts_many
from crm_gdpr.domain.audit_values import (
    SALT_BYTES,
    ValueChange,
    canonical_value,
    commit_changes,
    commitment,
    openings_hold,
    salts,
)
from crm_shared.events import ContactCreated
from crm_shared.events.contacts import ContactProfile
from tests.gdpr.fakes import wrap


def _reference(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def test_a_value_is_the_documented_json_for_every_code_point() -> None:
    code_points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(code_points), 4096):
        text = "".join(map(chr, code_points[start : start + 4096]))
        for value in (text, [text, "x"], {text[:7]: text, "a": [text]}):
            assert canonical_value(value) == _reference(value)


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "",
        None,
        True,
        0,
        -(2**63),
        2**64 - 1,
        2**70,
        1.5,
        1e16,
        float("nan"),
        ["a", 1, None, False],
        {"z": 1, "a": {"é": 2, "e": 3, "ё": [4]}},
        {"b": [1.0, "x"]},
        ("a", "b"),
        [("a", 1)],
        {"k": ("v",)},
    ],
)
def test_a_value_matches_the_documented_json_for_any_type(value: Any) -> None:
    assert canonical_value(value) == _reference(value)


def test_a_lone_surrogate_is_refused_like_the_documented_json() -> None:
    with pytest.raises(UnicodeEncodeError):
        canonical_value(["ok", "\ud800"])


def test_each_side_gets_its_own_fresh_salt_and_opens_its_commitment() -> None:
    changes = [ValueChange(f"f{n}", f"before {n}", f"after {n}") for n in range(50)]
    committed, openings = commit_changes(changes)
    salts = [o[side]["salt"] for o in openings for side in ("before", "after")]
    assert len(set(salts)) == len(salts) == 100
    assert all(len(bytes.fromhex(salt)) == SALT_BYTES for salt in salts)
    assert openings_hold(committed, openings)
    first = openings[0]["after"]
    assert committed[0]["after"] == commitment(first["salt"], "after 0")
    expected = hashlib.sha256(bytes.fromhex(first["salt"]) + b'"after 0"').hexdigest()
    assert committed[0]["after"] == expected
    assert list(committed[0]) == ["after", "before", "field"]


def test_a_missing_side_has_neither_commitment_nor_opening() -> None:
    committed, openings = commit_changes([ValueChange("email", None, "a@example.com")])
    assert committed[0]["before"] is None
    assert openings[0]["before"] is None
    assert openings_hold(committed, openings)


def _created(contact_id: str, name: str, **profile: Any) -> ContactCreated:
    return ContactCreated(
        contact_id=contact_id,
        version=1,
        source="import",
        profile=ContactProfile(name=name, **profile),
        import_job_id="job-1",
    )


def test_a_batch_scrubs_only_the_entry_holding_unstorable_text() -> None:
    clean = _created("c1", "Ann", custom_fields={"note": "a literal \\u0000 stays"})
    dirty = _created("c2", "Bo\x00b", tags=["ok", "bad\ud800"])
    drafts = audit_drafts_many([(clean, wrap(clean)), (dirty, wrap(dirty))])
    assert [d.target for d in drafts] == ["c1", "c2"]
    assert drafts[0].changes[0].after == "Ann"
    assert drafts[0].changes[-1].after == "a literal \\u0000 stays"
    assert drafts[1].changes[0].after == "Bo\ufffdb"
    assert drafts[1].changes[1].after == ["ok", "bad\ufffd"]


def test_a_clean_batch_keeps_every_value_as_the_event_stated_it() -> None:
    events = [_created(f"c{n}", f"Person {n}", tags=["vip"]) for n in range(3)]
    drafts = audit_drafts_many([(event, wrap(event)) for event in events])
    assert [[(c.field, c.after) for c in d.changes] for d in drafts] == [
        [("name", f"Person {n}"), ("tags", ["vip"])] for n in range(3)
    ]


def test_a_batchs_entries_each_get_fresh_salts_and_verify() -> None:
    events = [_created(f"c{n}", f"Person {n}", email=f"p{n}@example.com") for n in range(4)]
    drafts = audit_drafts_many([(event, wrap(event)) for event in events])
    entries = chain_entries(
        drafts, ids=[f"id{n}" for n in range(4)], tenant="acme", after_seq=0, prev_hash=GENESIS_HASH
    )
    salts = [e["values"]["salt"] for e in entries]
    assert len(salts) == len(set(salts)) == 4
    assert all(len(bytes.fromhex(salt)) == SALT_BYTES for salt in salts)
    walker = ChainWalker()
    assert all(walker.check(entry) for entry in entries)
    assert walker.report().valid


def test_salts_drawn_past_a_reads_count_come_from_a_new_read_and_never_repeat() -> None:
    draw = salts(3)
    drawn = [draw() for _ in range(10)]
    assert len(set(drawn)) == 10
    assert all(len(salt) == SALT_BYTES for salt in drawn)


def test_an_entry_commits_to_its_values_as_one_documented_json_of_rows() -> None:
    changes = tuple(ValueChange(f"f{n}", f"before {n}", ["after", n]) for n in range(5))
    draft = AuditDraft(
        at="2026-01-01T00:00:00Z",
        actor="key:ops",
        action="x",
        target="c1",
        fields=tuple(c.field for c in changes),
        changes=changes,
    )
    [entry] = chain_entries([draft], ids=["a"], tenant="acme", after_seq=0, prev_hash=GENESIS_HASH)
    rows = [[f"f{n}", f"before {n}", ["after", n]] for n in range(5)]
    assert entry["values"]["changes"] == rows
    salt = bytes.fromhex(entry["values"]["salt"])
    assert entry["values_commitment"] == hashlib.sha256(salt + _reference(rows)).hexdigest()
    assert (entry["format"], "changes" in entry) == (2, False)
    assert ChainWalker().check(entry)


@pytest.mark.parametrize(
    "after",
    [
        1e16,  # orjson writes 1e16, the reference 1e+16
        {"b": [1.5e-7, None], "a": True},
        ["text", {"n": 2**70}],  # beyond 64 bits: orjson refuses it
        ("a", "tuple"),
    ],
)
def test_values_orjson_writes_otherwise_commit_to_the_reference_json(after: Any) -> None:
    changes = (ValueChange("name", None, "Ann"), ValueChange("custom_fields.x", "was", after))
    draft = AuditDraft(
        at="2026-01-01T00:00:00Z",
        actor="key:ops",
        action="x",
        target="c1",
        fields=("name", "custom_fields.x"),
        changes=changes,
    )
    [entry] = chain_entries([draft], ids=["a"], tenant="acme", after_seq=0, prev_hash=GENESIS_HASH)
    rows = [["name", None, "Ann"], ["custom_fields.x", "was", after]]
    salt = bytes.fromhex(entry["values"]["salt"])
    assert entry["values_commitment"] == hashlib.sha256(salt + _reference(rows)).hexdigest()
