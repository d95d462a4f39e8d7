"""Tags and tag rules of one tenant, and the contacts that carry a tag."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm_contacts.domain.tags import TagInfo
from crm_contacts.domain.text import fold
from crm_shared.storage import CollectionSpec, Eq, In, Index, Session, Where

TAGS = "tags"
TAG_RULES = "tag_rules"
TAG_SPECS: tuple[CollectionSpec, ...] = (
    CollectionSpec(TAGS, indexes=(Index(("name_norm",), unique=True), Index(("kind",)))),
    CollectionSpec(TAG_RULES, indexes=(Index(("tag_id",)),)),
)
_IN_CHUNK = 500
# Tenants hold at most a few thousand tags and rules; one query reads the ones a write needs.
_MANY = 100_000


def tag_info(doc: dict[str, Any]) -> TagInfo:
    """The domain view of a stored tag."""
    return TagInfo(name=doc["name"], kind=doc["kind"], group=doc.get("group"))


class TagRepository:
    """Tag records of one tenant."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def get(self, tag_id: str) -> dict[str, Any] | None:
        """The tag with this id."""
        return await self._session.get(TAGS, tenant=self._tenant, id=tag_id)

    async def listed(
        self, *, kind: str | None = None, group: str | None = None
    ) -> list[dict[str, Any]]:
        """Every tag, optionally of one kind and group, by folded name."""
        where: list[Where] = []
        if kind:
            where.append(Eq("kind", kind))
        if group is not None:
            where.append(Eq("group", group))
        return await self._session.find(
            TAGS, tenant=self._tenant, where=where, order_by="name_norm", limit=_MANY
        )

    async def by_names(self, names: Sequence[str]) -> list[dict[str, Any]]:
        """The tags with these names (ignoring case and accents), one query per 500."""
        folded = list(dict.fromkeys(fold(name) for name in names))
        found: list[dict[str, Any]] = []
        for start in range(0, len(folded), _IN_CHUNK):
            chunk = tuple(folded[start : start + _IN_CHUNK])
            found += await self._session.find(
                TAGS,
                tenant=self._tenant,
                where=(In("name_norm", chunk),),
                order_by="name_norm",
                limit=len(chunk),
            )
        return found

    async def of_kinds(self, kinds: Sequence[str]) -> list[dict[str, Any]]:
        """Every tag of these kinds (auto and system tags are few)."""
        return await self._session.find(
            TAGS,
            tenant=self._tenant,
            where=(In("kind", tuple(kinds)),),
            order_by="kind",
            limit=_MANY,
        )

    async def add(self, doc: dict[str, Any]) -> None:
        """Insert a tag (DuplicateKeyError when its folded name is taken)."""
        await self._session.insert(TAGS, doc)

    async def add_many(self, docs: Sequence[dict[str, Any]]) -> None:
        """Insert several new tags."""
        if docs:
            await self._session.insert_many(TAGS, docs)

    async def save(self, doc: dict[str, Any], *, expected_version: int) -> bool:
        """Replace a tag if it still has `expected_version`."""
        return await self._session.replace(TAGS, doc, expected_version=expected_version)

    async def remove(self, tag_id: str) -> bool:
        """Delete a tag record."""
        return await self._session.delete(TAGS, tenant=self._tenant, id=tag_id)


class TagRuleRepository:
    """Tag rules of one tenant."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def all(self) -> list[dict[str, Any]]:
        """Every rule, oldest first."""
        return await self._session.find(TAG_RULES, tenant=self._tenant, limit=_MANY)

    async def get(self, rule_id: str) -> dict[str, Any] | None:
        """The rule with this id."""
        return await self._session.get(TAG_RULES, tenant=self._tenant, id=rule_id)

    async def giving(self, tag_id: str) -> list[dict[str, Any]]:
        """The rules that give this tag."""
        return await self._session.find(
            TAG_RULES,
            tenant=self._tenant,
            where=(Eq("tag_id", tag_id),),
            order_by="tag_id",
            limit=_MANY,
        )

    async def add(self, doc: dict[str, Any]) -> None:
        """Insert a rule."""
        await self._session.insert(TAG_RULES, doc)

    async def save(self, doc: dict[str, Any], *, expected_version: int) -> bool:
        """Replace a rule if it still has `expected_version`."""
        return await self._session.replace(TAG_RULES, doc, expected_version=expected_version)

    async def remove(self, rule_id: str) -> bool:
        """Delete a rule."""
        return await self._session.delete(TAG_RULES, tenant=self._tenant, id=rule_id)
