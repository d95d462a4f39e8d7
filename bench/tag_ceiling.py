"""A bare-SQL ceiling for jobs that rewrite contacts' tags: read-modify-write in hand-written SQL.

Contacts read in id order, their tags changed in Python, `executemany` UPDATE in transactions of
`batch`, with no events and no versions checked. Documents are stored under short keys
(sqlite_keys.py), read and written as stored. The adapter writes a replace's changed side-table
entries itself (sqlite_replace.py), so the ceiling does too for the one indexed field it changes
(`tags_norm`): any update trigger an older store still has is dropped first, so every run's
ceiling does the same work.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from crm_contacts.domain.text import fold
from crm_shared.storage.sqlite_keys import stored_keys
from crm_shared.storage.sqlite_tenants import stored_tenant


def rewrite_tags(
    path: Path, *, tenant: str, batch: int, change: Callable[[list[str]], list[str]]
) -> tuple[float, int]:
    """Seconds for changing every contact's tags with `change`, and how many it wrote."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    for (trigger,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND substr(name, -4) = '_upd'"
    ).fetchall():
        db.execute(f"DROP TRIGGER {trigger}")
    keys = stored_keys(db, "contacts")
    tags, norm, version = (keys.stored_key(name) for name in ("tags", "tags_norm", "version"))
    # The rows hold the tenant's code (sqlite_tenants.py): looked up once, as the store does.
    tenant_code = stored_tenant(db, tenant)
    started = time.perf_counter()
    written = 0
    last = ""
    while True:
        rows = db.execute(
            "SELECT id, doc FROM c_contacts WHERE tenant = ? AND id > ? ORDER BY id LIMIT ?",
            (tenant_code, last, batch),
        ).fetchall()
        if not rows:
            break
        updates, gone, added = [], [], []
        for contact_id, raw in rows:
            doc = orjson.loads(raw)
            # The folded tags are store-derived: never in the stored JSON (an older store's
            # copy is dropped, as the adapter drops it), worked out from the tags both sides.
            doc.pop(norm, None)
            before = {fold(t) for t in doc.get(tags) or ()}
            doc[tags] = change(doc.get(tags) or [])
            doc[version] += 1
            after = {fold(t) for t in doc[tags]}
            gone += [(value, contact_id) for value in before - after]
            added += [(value, contact_id) for value in after - before]
            updates.append((orjson.dumps(doc).decode(), tenant_code, contact_id))
        db.execute("BEGIN")
        db.executemany("UPDATE c_contacts SET doc = ? WHERE tenant = ? AND id = ?", updates)
        code = _code(db, tenant) if gone or added else None
        db.executemany(
            "DELETE FROM mv_contacts WHERE e_key = ? AND e_value = ? AND e_ref = ?",
            [(code, *entry) for entry in gone],
        )
        db.executemany(
            "INSERT OR IGNORE INTO mv_contacts VALUES (?, ?, ?)", [(code, *e) for e in added]
        )
        db.execute("COMMIT")
        written += len(updates)
        last = rows[-1][0]
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed, written


def _code(db: sqlite3.Connection, tenant: str) -> Any:
    """The side table's key of the tenant's `tags_norm` entries, made if it has none yet."""
    pair = (tenant, "tags_norm")
    db.execute("INSERT OR IGNORE INTO mvk_contacts (tenant, path) VALUES (?, ?)", pair)
    return db.execute(
        "SELECT code FROM mvk_contacts WHERE tenant = ? AND path = ?", pair
    ).fetchone()[0]
