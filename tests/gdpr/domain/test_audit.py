"""The audit hash chain: hashing, linking and finding the first broken link."""

from __future__ import annotations

from typing import Any

from crm_gdpr.domain.audit import (
    GENESIS_HASH,
    AuditDraft,
    ChainWalker,
    chain_entry,
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
