"""The audit hash chain: hashing, linking and finding the first broken link."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from crm_gdpr.domain.audit import (
    GENESIS_HASH,
    AuditDraft,
    ChainWalker,
    canonical_form,
    chain_entries,
    chain_entry,
    entry_hash,
    recomputed_hash,
)


def _draft(n: int) -> AuditDraft:
    return AuditDraft(
        at=f"2025-01-01T00:00:{n:02d}.000000Z",
        actor="key_abc",
        action="crm.contacts.contact.updated.v1",
        target=f"c{n}",
        fields=("email",),
        event_id=f"e{n}",
    )


def _chain(length: int, tenant: str = "acme") -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    prev = GENESIS_HASH
    for seq in range(1, length + 1):
        entry = chain_entry(_draft(seq), id=f"id{seq}", tenant=tenant, seq=seq, prev_hash=prev)
        entries.append(entry)
        prev = entry["hash"]
    return entries


def _walk(entries: list[dict[str, Any]]) -> tuple[bool, int, int | None]:
    walker = ChainWalker()
    for entry in entries:
        if not walker.check(entry):
            break
    report = walker.report()
    return report.valid, report.checked, report.first_broken_seq


def test_first_entry_links_to_the_genesis_hash() -> None:
    assert _chain(1)[0]["prev_hash"] == GENESIS_HASH


def test_each_entry_links_to_the_previous_hash() -> None:
    first, second = _chain(2)
    assert second["prev_hash"] == first["hash"]


def test_hash_depends_on_the_tenant() -> None:
    assert _chain(1, "acme")[0]["hash"] != _chain(1, "globex")[0]["hash"]


def test_recomputed_hash_matches_a_fresh_entry() -> None:
    entry = _chain(1)[0]
    assert recomputed_hash(entry) == entry["hash"]


def test_intact_chain_is_valid() -> None:
    assert _walk(_chain(5)) == (True, 5, None)


def test_empty_chain_is_valid() -> None:
    assert _walk([]) == (True, 0, None)


def test_changed_fields_break_that_entry() -> None:
    entries = _chain(5)
    entries[2] = {**entries[2], "fields": ["phone"]}
    assert _walk(entries) == (False, 3, 3)


def test_rehashed_tampered_entry_breaks_the_next_link() -> None:
    entries = _chain(5)
    forged = {**entries[1], "actor": "someone-else"}
    forged["hash"] = recomputed_hash(forged)
    entries[1] = forged
    assert _walk(entries) == (False, 3, 3)


def test_missing_entry_breaks_at_the_gap() -> None:
    entries = _chain(5)
    del entries[1]
    assert _walk(entries) == (False, 2, 3)


def _reference_form(**attrs: Any) -> bytes:
    """The canonical form as the hash is documented: json.dumps, sorted keys, UTF-8."""
    return json.dumps(attrs, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _attrs(**changes: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "tenant": "acme",
        "seq": 7,
        "at": "2025-01-01T00:00:00.000000Z",
        "actor": "key_abc",
        "action": "crm.contacts.contacts.imported.v1:created",
        "target": "c1",
        "fields": ["name", "email"],
        "event_id": "e1",
        "prev_hash": GENESIS_HASH,
    }
    attrs.update(changes)
    return attrs


TRICKY = 'clé "ü" \\ \n\t\x00\x1f\x7f \u2028 😀'


def test_hashes_of_known_entries_never_change() -> None:
    # Pinned from the original json.dumps implementation: stored chains must keep verifying.
    drafts = [
        AuditDraft(
            at="2025-01-01T00:00:00.000000Z",
            actor="key_abc",
            action="crm.contacts.contacts.imported.v1:created",
            target="c1",
            fields=("name", "email"),
            event_id="e1",
        ),
        AuditDraft(
            at="2025-01-01T00:00:00.000000Z",
            actor="crm/importer",
            action="gdpr.data-export",
            target="c2",
        ),
        AuditDraft(
            at="2025-01-01T00:00:00.000000Z",
            actor=TRICKY,
            action="x",
            target="Zoë",
            fields=("custom_fields.naïve", "tags"),
            event_id="e3",
        ),
    ]
    entries = chain_entries(
        drafts, ids=["id1", "id2", "id3"], tenant="acme", after_seq=0, prev_hash=GENESIS_HASH
    )
    assert [e["hash"] for e in entries] == [
        "21fb88253a9b3c0cf72eb0a2f2ed98bd4811b59cbb9e30f39d9852dcd9fd32d4",
        "3b447f1638a94ae4f455bc2d5449df9b008a28f8507bb52a659fc71496429c7c",
        "3b501a4e9651a64c1eb662935daa408d1e3d7c391898a088a6109281faee33c7",
    ]


def test_canonical_form_is_the_documented_json_for_every_code_point() -> None:
    code_points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(code_points), 4096):
        text = "".join(map(chr, code_points[start : start + 4096]))
        attrs = _attrs(actor=text, fields=[text, "x"])
        assert canonical_form(**attrs) == _reference_form(**attrs)


@pytest.mark.parametrize(
    "changes",
    [
        {"event_id": None},
        {"fields": []},
        {"seq": 2**63 - 1},
        {"seq": 2**64 - 1},
        {"seq": -(2**63)},
        # What a tampered stored entry may hold: the reference encoder decides these.
        {"seq": 2**70},
        {"seq": 3.0},
        {"seq": True},
        {"seq": float("nan")},
        {"fields": ["a", 1.5]},
        {"fields": [{"b": 1, "a": 2}]},
        {"fields": ("a", "b")},
        {"event_id": 1.5e-7},
        {"target": None},
    ],
)
def test_canonical_form_matches_the_documented_json_for_any_value(
    changes: dict[str, Any],
) -> None:
    attrs = _attrs(**changes)
    assert canonical_form(**attrs) == _reference_form(**attrs)


def test_canonical_form_rejects_a_lone_surrogate_like_the_documented_json() -> None:
    with pytest.raises(UnicodeEncodeError):
        canonical_form(**_attrs(target="\ud800"))


def test_entry_hash_is_sha256_of_the_canonical_form() -> None:
    attrs = _attrs()
    assert entry_hash(**attrs) == hashlib.sha256(_reference_form(**attrs)).hexdigest()


def test_chain_entries_link_like_entries_chained_one_by_one() -> None:
    drafts = [_draft(n) for n in range(1, 6)]
    ids = [f"id{n}" for n in range(1, 6)]
    batch = chain_entries(drafts, ids=ids, tenant="acme", after_seq=0, prev_hash=GENESIS_HASH)
    assert batch == _chain(5)


def test_chain_entries_continue_after_the_given_seq_and_hash() -> None:
    head = _chain(3)[-1]
    [entry] = chain_entries(
        [_draft(4)], ids=["id4"], tenant="acme", after_seq=3, prev_hash=head["hash"]
    )
    assert entry == _chain(4)[-1]


def test_chain_entries_need_one_id_per_draft() -> None:
    with pytest.raises(ValueError):
        chain_entries([_draft(1)], ids=[], tenant="acme", after_seq=0, prev_hash=GENESIS_HASH)
