"""The jobs and bulk benches' bare-SQL ceiling leaves the side table as the adapter would."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson

from bench.jobs_bench import TENANT, load
from bench.tag_ceiling import rewrite_tags
from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_shared.storage import Contains
from crm_shared.storage.sqlite import SqliteStore
from crm_shared.storage.sqlite_keys import stored_keys


async def _tagged(path: Path, tag: str) -> int:
    store = SqliteStore(path)
    await store.start(COLLECTION_SPECS)
    try:
        async with store.reader() as session:
            return await session.count(
                "contacts", tenant=TENANT, where=(Contains("tags_norm", tag),)
            )
    finally:
        await store.close()


async def test_the_ceiling_rewrites_tags_and_their_side_table_entries(tmp_path: Path) -> None:
    path = tmp_path / "contacts.sqlite3"
    await load(path, 30)
    seconds, written = rewrite_tags(
        path, tenant=TENANT, batch=7, change=lambda tags: [*tags[1:], "Ceiling"]
    )
    assert written == 30 and seconds > 0
    assert await _tagged(path, "ceiling") == 30
    assert await _tagged(path, "member") == 0  # "Member" was the first tag: gone
    assert await _tagged(path, "imported") == 30


def _stored_norms(path: Path) -> list[object]:
    db = sqlite3.connect(path)
    try:
        norm = stored_keys(db, "contacts").stored_key("tags_norm")
        return [orjson.loads(raw).get(norm) for (raw,) in db.execute("SELECT doc FROM c_contacts")]
    finally:
        db.close()


async def test_the_loaded_and_rewritten_store_keeps_folded_tags_out_of_its_json(
    tmp_path: Path,
) -> None:
    path = tmp_path / "contacts.sqlite3"
    await load(path, 12)
    assert _stored_norms(path) == [None] * 12  # loaded in the service's layout
    rewrite_tags(path, tenant=TENANT, batch=5, change=lambda tags: [*tags, "Later"])
    assert _stored_norms(path) == [None] * 12
    assert await _tagged(path, "later") == 12
    assert await _tagged(path, "member") == 12
