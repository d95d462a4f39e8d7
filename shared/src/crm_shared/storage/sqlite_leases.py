"""The SQLite adapter's lease rows (table `_leases`), read and written inside its transactions."""

from __future__ import annotations

import aiosqlite

from crm_shared.storage.leases import LeaseRow


async def read_lease(conn: aiosqlite.Connection, name: str) -> LeaseRow | None:
    """The stored lease `name`, or None if it was never taken."""
    async with conn.execute(
        "SELECT holder, token, expires_at FROM _leases WHERE name = ?", (name,)
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else LeaseRow(str(row[0]), int(row[1]), float(row[2]))


async def write_lease(conn: aiosqlite.Connection, name: str, lease: LeaseRow) -> None:
    """Store lease `name` as `lease`."""
    await conn.execute(
        "INSERT INTO _leases (name, holder, token, expires_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = excluded.token, "
        "expires_at = excluded.expires_at",
        (name, lease.holder, lease.token, lease.expires_at),
    )
