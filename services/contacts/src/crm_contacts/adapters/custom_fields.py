"""Custom field definitions of one tenant, stored in the `custom_fields` collection."""

from __future__ import annotations

from typing import Any, cast

from crm_contacts.domain.custom_fields import FIELD_TYPES, FieldDefinition, FieldType
from crm_shared.storage import CollectionSpec, Eq, Index, Session

CUSTOM_FIELDS = "custom_fields"

CUSTOM_FIELDS_SPEC = CollectionSpec(CUSTOM_FIELDS, indexes=(Index(("key",), unique=True),))

# A tenant has at most a few hundred definitions; one query reads them all.
_ALL = 10_000


def definition_from_doc(doc: dict[str, Any]) -> FieldDefinition:
    """The domain definition stored in `doc`."""
    field_type = doc["type"]
    if field_type not in FIELD_TYPES:
        raise ValueError(f"unknown custom field type {field_type!r}")
    return FieldDefinition(
        key=doc["key"],
        label=doc["label"],
        type=cast(FieldType, field_type),
        options=tuple(doc.get("options") or ()),
        retired_options=tuple(doc.get("retired_options") or ()),
        required=bool(doc.get("required", False)),
        description=doc.get("description"),
    )


class CustomFieldRepository:
    """Custom field definitions of one tenant."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def all(self) -> dict[str, FieldDefinition]:
        """Every definition of the tenant, by key."""
        return {doc["key"]: definition_from_doc(doc) for doc in await self.all_docs()}

    async def all_docs(self) -> list[dict[str, Any]]:
        """Every stored definition document of the tenant, in key order."""
        return await self._session.find(
            CUSTOM_FIELDS, tenant=self._tenant, order_by="key", limit=_ALL
        )

    async def get_doc(self, key: str) -> dict[str, Any] | None:
        """The stored definition document with this key, if any."""
        found = await self._session.find(
            CUSTOM_FIELDS, tenant=self._tenant, where=(Eq("key", key),), order_by="key", limit=1
        )
        return found[0] if found else None

    async def add(self, doc: dict[str, Any]) -> None:
        """Insert a new definition (DuplicateKeyError if the key exists)."""
        await self._session.insert(CUSTOM_FIELDS, doc)

    async def save(self, doc: dict[str, Any], *, expected_version: int) -> bool:
        """Replace a definition if it still has `expected_version`."""
        return await self._session.replace(CUSTOM_FIELDS, doc, expected_version=expected_version)

    async def remove(self, doc_id: str) -> bool:
        """Delete a definition by id."""
        return await self._session.delete(CUSTOM_FIELDS, tenant=self._tenant, id=doc_id)
