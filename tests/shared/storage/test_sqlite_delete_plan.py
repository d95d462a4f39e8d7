"""A delete by an indexed field reads that index, as a find does, not the tenant's whole table."""

from __future__ import annotations

from pathlib import Path

from crm_shared.storage import CollectionSpec, Eq, Index
from crm_shared.storage.sqlite import SqliteStore


async def test_a_delete_by_an_indexed_field_names_its_index(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "plan.sqlite3"))
    await store.start((CollectionSpec("items", indexes=(Index(("contact_id",)),)),))
    statements: list[str] = []
    try:
        async with store.transaction() as session:
            await session.insert_many(
                "items",
                [{"id": f"i{n}", "tenant": "t", "contact_id": f"c{n % 3}"} for n in range(9)],
            )
        writer = store._writer  # the statement text is what is checked
        assert writer is not None
        await writer.set_trace_callback(statements.append)
        async with store.transaction() as session:
            deleted = await session.delete_where(
                "items", tenant="t", where=[Eq("contact_id", "c1")]
            )
        await writer.set_trace_callback(None)
    finally:
        await store.close()

    assert deleted == 3
    [delete] = [s for s in statements if s.startswith("DELETE FROM")]
    # Without statistics SQLite would walk the primary key (every item of the tenant).
    assert "INDEXED BY" in delete
