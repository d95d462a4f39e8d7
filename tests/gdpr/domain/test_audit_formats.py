"""Entries of both formats in one chain: format 1 (a commitment per value), written before, and
format 2 (one commitment to all of an entry's values), written since; each verifies by its own."""

from __future__ import annotations

from typing import Any

import pytest

from crm_gdpr.domain.audit import GENESIS_HASH, AuditDraft, ChainWalker, chain_entries
from crm_gdpr.domain.audit_values import ValueChange
from crm_gdpr.service_layer.audit import public_entry
from tests.gdpr.first_format import first_format_entries


def _draft(n: int) -> AuditDraft:
    changes = (
        ValueChange("name", None, f"Person {n}"),
        ValueChange("email", f"p{n}@old.example", f"p{n}@example.com"),
        ValueChange("tags", None, ["vip", "imported"]),
    )
    return AuditDraft(
        at="2026-01-01T00:00:00Z",
        actor="import:job-1",
        action="crm.contacts.contacts.imported.v1:created",
        target=f"c{n}",
        fields=tuple(c.field for c in changes),
        event_id=f"e{n}",
        changes=changes,
    )


def _mixed_chain() -> list[dict[str, Any]]:
    """Three entries of format 1, then three of format 2 appended after them."""
    drafts = [_draft(n) for n in range(3)]
    old = first_format_entries(drafts, tenant="acme", after_seq=0, prev_hash=GENESIS_HASH)
    new = chain_entries(
        [_draft(n) for n in range(3, 6)],
        ids=[f"new{n}" for n in range(3)],
        tenant="acme",
        after_seq=3,
        prev_hash=old[-1]["hash"],
    )
    return [*old, *new]


def _first_broken(entries: list[dict[str, Any]]) -> int | None:
    walker = ChainWalker()
    for entry in entries:
        if not walker.check(entry):
            break
    return walker.report().first_broken_seq


def test_a_chain_of_old_entries_continued_in_format_2_verifies() -> None:
    chain = _mixed_chain()
    assert [e.get("format") for e in chain] == [None, None, None, 2, 2, 2]
    walker = ChainWalker()
    assert all(walker.check(entry) for entry in chain)
    assert walker.report().checked == 6


def test_redacted_entries_of_both_formats_still_verify() -> None:
    chain = [{**entry, "values": None} for entry in _mixed_chain()]
    assert _first_broken(chain) is None


@pytest.mark.parametrize("seq", [2, 5])
def test_a_changed_value_is_detected_at_its_entry_in_either_format(seq: int) -> None:
    chain = _mixed_chain()
    entry = chain[seq - 1]
    if entry.get("format") == 2:
        entry["values"]["changes"][1][2] = "forged@example.org"
    else:
        entry["values"][1]["after"]["value"] = "forged@example.org"
    assert _first_broken(chain) == seq


@pytest.mark.parametrize(
    "tampered",
    [
        # Read as format 1 (or an unknown one) instead: the hash covered the format.
        {"format": None},
        {"format": 1},
        {"format": 3},
        {"format": "2"},
        # The commitment gone, or another one.
        {"values_commitment": None},
        {"values_commitment": "0" * 64},
        # Per-value commitments added beside it.
        {"changes": [{"after": "0" * 64, "before": None, "field": "name"}]},
    ],
)
def test_a_changed_format_or_commitment_of_a_format_2_entry_is_detected(
    tampered: dict[str, Any],
) -> None:
    for redacted in (False, True):
        chain = _mixed_chain()
        if redacted:
            chain[4]["values"] = None
        chain[4] |= tampered
        assert _first_broken(chain) == 5, (tampered, redacted)


def test_the_api_shows_each_format_with_its_own_commitments() -> None:
    old, _, _, new, _, _ = _mixed_chain()
    shown_old, shown_new = public_entry(old), public_entry(new)
    assert shown_old["format"] == 1 and "values_commitment" not in shown_old
    assert [c["after_commitment"] for c in shown_old["changes"]] == [
        c["after"] for c in old["changes"]
    ]
    assert shown_old["changes"][1]["before"] == "p0@old.example"
    assert (shown_new["format"], shown_new["values_commitment"]) == (2, new["values_commitment"])
    assert [(c["field"], c["before"], c["after"]) for c in shown_new["changes"]] == [
        ("name", None, "Person 3"),
        ("email", "p3@old.example", "p3@example.com"),
        ("tags", None, ["vip", "imported"]),
    ]
    assert all(c["before_commitment"] is None for c in shown_new["changes"])
    redacted = public_entry({**new, "values": None})
    assert (redacted["redacted"], redacted["changes"]) == (True, [])
    assert public_entry({**old, "values": None})["redacted"] is True


def test_rows_of_another_shape_are_shown_without_them_and_fail_to_verify() -> None:
    chain = _mixed_chain()
    chain[3]["values"]["changes"][0] = ["name", "only two"]
    chain[3]["values"]["changes"].append("not a row")
    shown = public_entry(chain[3])
    assert [c["field"] for c in shown["changes"]] == ["email", "tags"]
    assert _first_broken(chain) == 4
    assert public_entry({**chain[3], "values": {"salt": "00", "changes": "x"}})["changes"] == []
