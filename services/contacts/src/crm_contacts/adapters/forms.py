"""Form definitions of a tenant, and the tenant-free index a public submission finds them by.

A submission carries no API key, so its form is found by id alone: `form_index` holds one entry
per form under the reserved tenant "" (like the match queue) naming the form's tenant.
"""

from __future__ import annotations

from typing import Any

from crm_shared.storage import CollectionSpec, Session

FORMS = "forms"
FORM_INDEX = "form_index"
INDEX_TENANT = ""
FORM_SPECS: tuple[CollectionSpec, ...] = (CollectionSpec(FORMS), CollectionSpec(FORM_INDEX))


class FormRepository:
    """The forms of one tenant."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def add(self, form: dict[str, Any]) -> None:
        """Store a new form and its index entry."""
        await self._session.insert(FORMS, form)
        entry = {"id": form["id"], "tenant": INDEX_TENANT, "form_tenant": self._tenant}
        await self._session.insert(FORM_INDEX, entry)

    async def replace(self, form: dict[str, Any]) -> None:
        """Store a changed form (its index entry, naming only the tenant, stays)."""
        await self._session.replace(FORMS, form)

    async def get(self, form_id: str) -> dict[str, Any] | None:
        """The tenant's form with this id, or None."""
        return await self._session.get(FORMS, tenant=self._tenant, id=form_id)

    async def listed(self, *, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` forms in id (creation) order."""
        return await self._session.find(FORMS, tenant=self._tenant, order_by="id", limit=limit)


async def form_by_id(session: Session, form_id: str) -> dict[str, Any] | None:
    """Any tenant's form with this id (a public submission's look-up), or None."""
    entry = await session.get(FORM_INDEX, tenant=INDEX_TENANT, id=form_id)
    if entry is None:
        return None
    return await FormRepository(session, entry["form_tenant"]).get(form_id)
