"""What the in-memory store adds to the contract: snapshots for readers, no shared dicts."""

from __future__ import annotations

from crm_shared.storage import CollectionSpec
from crm_shared.storage.memory import MemoryStore

T1 = "tenant-a"


async def _started() -> MemoryStore:
    store = MemoryStore()
    await store.start([CollectionSpec("notes")])
    return store


async def test_a_reader_keeps_its_snapshot_while_a_transaction_commits() -> None:
    store = await _started()
    async with store.transaction() as session:
        await session.insert("notes", {"id": "n1", "tenant": T1, "text": "first"})
    async with store.reader() as snapshot:
        async with store.transaction() as session:
            await session.insert("notes", {"id": "n2", "tenant": T1, "text": "second"})
            await session.delete("notes", tenant=T1, id="n1")
        assert [d["id"] for d in await snapshot.find("notes", tenant=T1)] == ["n1"]
    async with store.reader() as later:
        assert [d["id"] for d in await later.find("notes", tenant=T1)] == ["n2"]


async def test_a_transaction_sees_its_own_writes_before_commit() -> None:
    store = await _started()
    async with store.transaction() as session:
        await session.insert("notes", {"id": "n1", "tenant": T1, "text": "draft"})
        assert await session.count("notes", tenant=T1) == 1
        async with store.reader() as outside:
            assert await outside.count("notes", tenant=T1) == 0


async def test_changing_a_returned_document_does_not_change_the_store() -> None:
    store = await _started()
    async with store.transaction() as session:
        await session.insert("notes", {"id": "n1", "tenant": T1, "tags": ["a"]})
    async with store.reader() as session:
        found = await session.get("notes", tenant=T1, id="n1")
        assert found is not None
        found["tags"].append("b")
        assert await session.get("notes", tenant=T1, id="n1") == {
            "id": "n1",
            "tenant": T1,
            "tags": ["a"],
        }
