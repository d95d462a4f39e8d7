"""Appending to the audit chain: per-tenant seq, idempotency, concurrency and retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import pytest

from crm_gdpr.adapters.repositories import AUDIT_ENTRIES, COLLECTION_SPECS
from crm_gdpr.domain.audit import AuditDraft
from crm_gdpr.service_layer.audit import (
    append_audit,
    audit_page,
    record_event,
    verify_chain,
    with_seq_retry,
)
from crm_shared.events import ContactDeleted
from crm_shared.storage import DocumentStore, DuplicateKeyError, Session
from tests.gdpr.fakes import wrap
from tests.stores import memory_store


@pytest.fixture
async def store() -> AsyncIterator[DocumentStore]:
    """The gdpr collections in memory: the handlers' rules need no database file."""
    async with memory_store(COLLECTION_SPECS) as memory:
        yield memory


def _deleted(contact_id: str, tenant: str = "acme") -> Any:
    return wrap(ContactDeleted(contact_id=contact_id, version=2), tenant=tenant)


async def _seqs(store: DocumentStore, tenant: str) -> list[int]:
    entries, _ = await audit_page(store, tenant=tenant, contact_id=None, after_seq=None, limit=999)
    return [e["seq"] for e in entries]


async def test_seq_counts_per_tenant_independently(store: DocumentStore) -> None:
    for envelope in [_deleted("a1"), _deleted("g1", "globex"), _deleted("a2"), _deleted("a3")]:
        await record_event(store, envelope)
    assert await _seqs(store, "acme") == [1, 2, 3]
    assert await _seqs(store, "globex") == [1]


async def test_concurrent_appends_get_distinct_consecutive_seqs(store: DocumentStore) -> None:
    await asyncio.gather(*(record_event(store, _deleted(f"c{n}")) for n in range(20)))
    assert await _seqs(store, "acme") == list(range(1, 21))
    assert (await verify_chain(store, tenant="acme")).valid


async def test_same_event_twice_appends_once(store: DocumentStore) -> None:
    envelope = _deleted("c1")
    assert await record_event(store, envelope) == 1
    assert await record_event(store, envelope) == 0
    assert await _seqs(store, "acme") == [1]


async def test_unique_index_rejects_a_second_entry_with_the_same_seq(store: DocumentStore) -> None:
    draft = AuditDraft(at="2025-01-01T00:00:00.000000Z", actor="a", action="x", target="c1")
    async with store.transaction() as session:
        [entry] = await append_audit(session, "acme", [draft])
    with pytest.raises(DuplicateKeyError):
        async with store.transaction() as session:
            await session.insert(AUDIT_ENTRIES, {**entry, "id": "another-id"})


async def test_append_is_retried_when_a_concurrent_writer_took_the_seq(
    store: DocumentStore,
) -> None:
    attempts = 0

    async def work(session: Session) -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise DuplicateKeyError("seq taken")
        draft = AuditDraft(at="2025-01-01T00:00:00.000000Z", actor="a", action="x", target="c")
        return len(await append_audit(session, "acme", [draft]))

    assert await with_seq_retry(store, work) == 1
    assert attempts == 2
    assert await _seqs(store, "acme") == [1]


async def test_retry_gives_up_after_the_bounded_attempts(store: DocumentStore) -> None:
    async def always_taken(session: Session) -> None:
        raise DuplicateKeyError("seq taken")

    with pytest.raises(DuplicateKeyError):
        await with_seq_retry(store, always_taken, attempts=3)


async def test_verify_walks_more_than_one_page(
    store: DocumentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("crm_gdpr.service_layer.audit.VERIFY_PAGE", 2)
    for n in range(5):
        await record_event(store, _deleted(f"c{n}"))
    report = await verify_chain(store, tenant="acme")
    assert (report.valid, report.checked) == (True, 5)


class _CountingSession:
    """Passes calls through to a real session, counting the reads and writes of the chain."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.finds = 0
        self.inserts = 0

    async def find(self, collection: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.finds += 1
        return await self._session.find(collection, **kwargs)

    async def insert_many(self, collection: str, docs: Sequence[dict[str, Any]]) -> None:
        self.inserts += 1
        await self._session.insert_many(collection, docs)


def _drafts(count: int) -> list[AuditDraft]:
    at = "2025-01-01T00:00:00.000000Z"
    return [AuditDraft(at=at, actor="a", action="x", target=f"c{n}") for n in range(count)]


async def test_batch_append_reads_the_head_once_and_writes_once(store: DocumentStore) -> None:
    async with store.transaction() as session:
        await append_audit(session, "acme", _drafts(3))
    async with store.transaction() as session:
        counting = _CountingSession(session)
        entries = await append_audit(cast(Session, counting), "acme", _drafts(500))
    assert (counting.finds, counting.inserts) == (1, 1)
    assert [e["seq"] for e in entries] == list(range(4, 504))
    assert (await verify_chain(store, tenant="acme")).checked == 503


async def test_append_of_no_drafts_writes_nothing(store: DocumentStore) -> None:
    async with store.transaction() as session:
        assert await append_audit(session, "acme", []) == []
    assert await _seqs(store, "acme") == []


async def test_an_imports_events_with_an_unstorable_id_keep_every_entry(
    store: DocumentStore,
) -> None:
    from crm_shared.events import ContactCreated, ContactProfile

    for contact_id in ("c-1", "c-\ud800\x00", "c-3"):
        created = ContactCreated(
            contact_id=contact_id,
            version=1,
            source="import",
            profile=ContactProfile(name="Ada"),
            import_job_id="job-1",
        )
        assert await record_event(store, wrap(created, actor="import:job-1")) == 1
    entries, _ = await audit_page(store, tenant="acme", contact_id=None, after_seq=None, limit=9)
    assert [e["target"] for e in entries] == ["c-1", "c-\ufffd\ufffd", "c-3"]
    assert (await verify_chain(store, tenant="acme")).valid
