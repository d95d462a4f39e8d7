"""The console's own store: sign-in sessions and held uploads, shared by every replica.

Nothing here belongs to a tenant of the platform, so every document sits under the reserved
tenant `CONSOLE_TENANT`. Each document carries `expires_at` (ISO-8601 UTC), which the purge loop
and every read check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_shared.storage import CollectionSpec, Eq, Index, Range, Session

CONSOLE_TENANT = "console"
SESSIONS = "console_sessions"
UPLOADS = "console_uploads"
# An upload's bytes in numbered parts: a document stays far below MongoDB's 16 MB limit.
UPLOAD_PARTS = "console_upload_parts"

COLLECTION_SPECS: tuple[CollectionSpec, ...] = (
    CollectionSpec(SESSIONS, (Index(("expires_at",)),)),
    CollectionSpec(UPLOADS, (Index(("expires_at",)),)),
    CollectionSpec(UPLOAD_PARTS, (Index(("upload", "seq")), Index(("expires_at",)))),
)


class SessionRepository:
    """Sessions by the hash of their token."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def get(self, ref: str) -> dict[str, Any] | None:
        """The stored session, expired or not."""
        return await self._session.get(SESSIONS, tenant=CONSOLE_TENANT, id=ref)

    async def put(self, doc: dict[str, Any]) -> None:
        """Store a new session or replace one."""
        if not await self._session.replace(SESSIONS, {**doc, "tenant": CONSOLE_TENANT}):
            await self._session.insert(SESSIONS, {**doc, "tenant": CONSOLE_TENANT})

    async def delete(self, ref: str) -> None:
        """Forget a session."""
        await self._session.delete(SESSIONS, tenant=CONSOLE_TENANT, id=ref)


class UploadRepository:
    """Held uploads: a document describing each, and its bytes in parts."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def add(self, doc: dict[str, Any]) -> None:
        """Record an upload (its parts are added separately)."""
        await self._session.insert(UPLOADS, {**doc, "tenant": CONSOLE_TENANT})

    async def get(self, token: str) -> dict[str, Any] | None:
        """An upload's description, expired or not."""
        return await self._session.get(UPLOADS, tenant=CONSOLE_TENANT, id=token)

    async def replace(self, doc: dict[str, Any]) -> None:
        """Change an upload's description (the choices remembered for it)."""
        await self._session.replace(UPLOADS, {**doc, "tenant": CONSOLE_TENANT})

    async def add_parts(self, parts: Sequence[dict[str, Any]]) -> None:
        """Store parts of an upload's bytes."""
        await self._session.insert_many(
            UPLOAD_PARTS, [{**part, "tenant": CONSOLE_TENANT} for part in parts]
        )

    async def parts(self, token: str, *, after_seq: int, limit: int) -> list[dict[str, Any]]:
        """The next parts of an upload in order."""
        return await self._session.find(
            UPLOAD_PARTS,
            tenant=CONSOLE_TENANT,
            where=[Eq("upload", token), Range("seq", gt=after_seq)],
            order_by="seq",
            limit=limit,
        )

    async def delete(self, token: str) -> None:
        """Forget an upload and its bytes."""
        await self._session.delete_where(
            UPLOAD_PARTS, tenant=CONSOLE_TENANT, where=[Eq("upload", token)]
        )
        await self._session.delete(UPLOADS, tenant=CONSOLE_TENANT, id=token)


async def delete_expired(session: Session, *, now: str) -> int:
    """Forget every session and upload that expired before `now`; how many documents went."""
    expired = [Range("expires_at", lt=now)]
    gone = 0
    for collection in (SESSIONS, UPLOADS, UPLOAD_PARTS):
        gone += await session.delete_where(collection, tenant=CONSOLE_TENANT, where=expired)
    return gone
