"""Benchmarks that keep a loaded store between runs (DUPLICATES_STORE, JOBS_STORE) read it here."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crm_shared.storage.sqlite_ids import read_id
from crm_shared.storage.sqlite_tenants import TENANT_CODE_OF


def stored_ids(path: Path, tenant: str) -> list[str]:
    """The ids of a kept store's contacts of `tenant`, in creation order (ids are time-ordered)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute(
            f"SELECT id FROM c_contacts WHERE tenant = {TENANT_CODE_OF} ORDER BY id", [tenant]
        )
        return [read_id(row[0]) for row in rows]
    finally:
        db.close()
