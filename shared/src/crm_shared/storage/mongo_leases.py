"""The MongoDB adapter's leases: one document per lease in `_leases`, changed by compare-and-set.

Each step is one atomic single-document write, so no transaction is needed: the holder's
change matches only the exact row it read, and a first taker's insert fails on the unique `_id`
if another replica inserted first. Losing such a race means "not acquired this time".
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from crm_shared.storage.leases import Lease, LeaseRow, decide

Doc = dict[str, Any]

LEASES = "_leases"


async def acquire(db: AsyncDatabase[Doc], name: str, *, holder: str, ttl: float) -> Lease | None:
    """Take or renew lease `name` (see crm_shared.storage.leases.decide)."""
    leases = db[LEASES]
    found = await leases.find_one({"_id": name})
    current = (
        None
        if found is None
        else LeaseRow(str(found["holder"]), int(found["token"]), float(found["expires_at"]))
    )
    taken = decide(current, holder=holder, ttl=ttl)
    if taken is None:
        return None
    fields = {"holder": taken.holder, "token": taken.token, "expires_at": taken.expires_at}
    if current is None:
        try:
            await leases.insert_many([{"_id": name, **fields}])
        except (DuplicateKeyError, BulkWriteError):
            return None  # another replica took it first
    else:
        seen = {
            "_id": name,
            "holder": current.holder,
            "token": current.token,
            "expires_at": current.expires_at,
        }
        result = await leases.update_one(seen, {"$set": fields})
        if result.matched_count != 1:
            return None  # changed since it was read: someone else renewed or took it
    return Lease(name, taken.holder, taken.token, taken.expires_at)


async def release(db: AsyncDatabase[Doc], name: str, *, holder: str) -> None:
    """Expire lease `name` now if `holder` holds it."""
    await db[LEASES].update_one({"_id": name, "holder": holder}, {"$set": {"expires_at": 0.0}})
