"""Access bundles kept for the retention period, and the watch that finds the expired ones."""

from __future__ import annotations

from typing import Any

from crm_shared.storage import CollectionSpec, Contains, Eq, Index, Range, Session

DATA_EXPORTS = "data_exports"
# Every tenant's bundles by expiry, under the reserved tenant "" so one loop watches them all
# (as the erasure deadlines are watched).
BUNDLE_EXPIRY = "data_export_expiry"
_WATCH_TENANT = ""
BUNDLE_SPECS: tuple[CollectionSpec, ...] = (
    CollectionSpec(DATA_EXPORTS, (Index(("record_ids",), multi_value="array"),)),
    CollectionSpec(BUNDLE_EXPIRY, (Index(("expires_at",)),)),
)


class BundleRepository:
    """Stored access bundles and their expiry."""

    def __init__(self, session: Session) -> None:
        self._session = session

    async def add(self, doc: dict[str, Any]) -> None:
        """Keep a bundle (`id`, `tenant`, `record_ids`, `expires_at`, `bundle`) until it expires."""
        await self._session.insert(DATA_EXPORTS, doc)
        await self._session.insert(
            BUNDLE_EXPIRY,
            {
                "id": doc["id"],
                "tenant": _WATCH_TENANT,
                "bundle_tenant": doc["tenant"],
                "expires_at": doc["expires_at"],
            },
        )

    async def get(self, tenant: str, export_id: str) -> dict[str, Any] | None:
        """A kept bundle of the tenant, or None once deleted."""
        return await self._session.get(DATA_EXPORTS, tenant=tenant, id=export_id)

    async def expired(self, now: str, *, limit: int) -> list[dict[str, Any]]:
        """Watch entries (`id`, `bundle_tenant`) of bundles expired by `now`, oldest first."""
        return await self._session.find(
            BUNDLE_EXPIRY,
            tenant=_WATCH_TENANT,
            where=[Range("expires_at", lte=now)],
            order_by="expires_at",
            limit=limit,
        )

    async def about(self, tenant: str, contact_id: str) -> list[dict[str, Any]]:
        """The kept bundles covering a record (erasure)."""
        return await self._session.find(
            DATA_EXPORTS, tenant=tenant, where=[Contains("record_ids", contact_id)], limit=10_000
        )

    async def delete(self, tenant: str, export_id: str) -> bool:
        """Delete a bundle and its watch entry; False if it was gone already."""
        await self._session.delete_where(
            BUNDLE_EXPIRY, tenant=_WATCH_TENANT, where=[Eq("id", export_id)]
        )
        return await self._session.delete(DATA_EXPORTS, tenant=tenant, id=export_id)
