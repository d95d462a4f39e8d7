"""Storage of duplicate matching: candidate look-ups, the pairs, and the re-match queue.

`duplicate_pairs` holds one document per candidate pair (the "group" the API lists), ordered by
score, indexed by both contact ids. `match_queue` holds the contacts whose pairs must be
recomputed, written in the same transaction as the contact change and drained by a background
loop; its entries live under the reserved tenant "" so one loop serves every tenant. An entry is
keyed by its contact: a contact queued again (created, then updated) has one entry, holding the
latest reason and a fresh `token`, and is matched once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from crm_contacts.domain.matching.profile import EMAIL_KEY, PHONE_KEY
from crm_shared.ids import new_ids
from crm_shared.storage import (
    CollectionSpec,
    Contains,
    ContainsAny,
    Cursor,
    Eq,
    In,
    Index,
    Range,
    Session,
    Where,
)

CONTACTS = "contacts"
DUPLICATE_PAIRS = "duplicate_pairs"
MATCH_QUEUE = "match_queue"
SCAN_STATUS = "duplicate_scans"  # each tenant's latest full scan, read by every replica
QUEUE_TENANT = ""

MATCHING_SPECS: tuple[CollectionSpec, ...] = (
    # Looked up by value, a few holders at a time: SQLite's entries name them by row key.
    CollectionSpec(
        CONTACTS, indexes=(Index(("match_keys",), multi_value="array", lookup_only=True),)
    ),
    CollectionSpec(
        DUPLICATE_PAIRS,
        indexes=(Index(("contact_ids",), multi_value="array"), Index(("score",))),
    ),
    # Entries not from an import, oldest first, and an import job's newest entry. The rounds
    # after an import read in id order (tenant, then contact id: creation order), no index.
    CollectionSpec(MATCH_QUEUE, indexes=(Index(("after_import", "token")),)),
    CollectionSpec(SCAN_STATUS),
)
# Matching sees only the live set: not deleted, not erased, not merged away.
MATCHABLE: tuple[Where, ...] = (
    Eq("deleted_at", None),
    Eq("erased_at", None),
    Eq("merged_into", None),
)
# What matching reads of a stored contact (`match_profile`): a look-up reads candidates this
# narrow and the whole documents of only the matches it returns. Decoding every candidate's
# whole document was most of the create-time check's time with a million contacts stored.
MATCH_VIEW = ("name", "company", "match_keys")
_IN_CHUNK = 500
_NO_LIMIT = 10_000_000


def _chunks(values: Sequence[str]) -> Iterable[tuple[str, ...]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield tuple(values[start : start + _IN_CHUNK])


class CandidateFinder:
    """Live contacts of one tenant sharing an email, a phone, an external id or a name block."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    async def by_keys(
        self,
        keys: Sequence[str],
        *,
        limit: int,
        fields: Sequence[str] | None = None,
        candidates: bool = False,
    ) -> list[dict[str, Any]]:
        """Up to `limit` live contacts holding one of these match keys (one indexed query).

        With `fields` (say MATCH_VIEW), each contact holds only its id, tenant and those fields.
        `candidates`: the caller checks which keys each one holds itself (port.ContainsAny).
        """
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(dict.fromkeys(keys))):
            docs = await self._session.find(
                CONTACTS,
                tenant=self._tenant,
                where=(ContainsAny("match_keys", chunk, candidates), *MATCHABLE),
                limit=limit,
                fields=fields,
            )
            found.update((doc["id"], doc) for doc in docs)
        return sorted(found.values(), key=lambda doc: str(doc["id"]))

    async def every_holder(
        self, keys: Sequence[str], *, limit: int, fields: Sequence[str], candidates: bool = False
    ) -> tuple[list[dict[str, Any]], bool]:
        """Live holders of any of these keys, and whether that is all of them.

        One indexed query per IN list of keys (a re-match round's keys of one kind), each
        reading at most `limit` holders: a list that reached it may have left some out.
        """
        found: dict[str, dict[str, Any]] = {}
        complete = True
        for chunk in _chunks(list(dict.fromkeys(keys))):
            docs = await self._session.find(
                CONTACTS,
                tenant=self._tenant,
                where=(ContainsAny("match_keys", chunk, candidates), *MATCHABLE),
                limit=limit + 1,
                fields=fields,
            )
            complete = complete and len(docs) <= limit
            found.update((doc["id"], doc) for doc in docs)
        return list(found.values()), complete

    async def by_identifiers(
        self, *, emails: Sequence[str], phones: Sequence[str]
    ) -> list[dict[str, Any]]:
        """Every live contact holding one of these emails or E.164 phones (primary or not)."""
        keys = [EMAIL_KEY + e for e in emails] + [PHONE_KEY + p for p in phones]
        return await self.by_keys(keys, limit=_NO_LIMIT)

    async def live_views(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The live contacts among these ids, as MATCH_VIEW (what scoring reads), in id order."""
        found: list[dict[str, Any]] = []
        for chunk in _chunks(list(dict.fromkeys(ids))):
            found += await self._session.find(
                CONTACTS,
                tenant=self._tenant,
                where=(In("id", chunk), *MATCHABLE),
                limit=len(chunk),
                fields=MATCH_VIEW,
            )
        return sorted(found, key=lambda doc: str(doc["id"]))

    async def by_ids(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The tenant's contacts with these ids, whatever their state."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(dict.fromkeys(ids))):
            docs = await self._session.find(
                CONTACTS, tenant=self._tenant, where=(In("id", chunk),), limit=len(chunk)
            )
            found.update((doc["id"], doc) for doc in docs)
        return found


class PairRepository:
    """Candidate duplicate pairs of one tenant."""

    def __init__(self, session: Session, tenant: str) -> None:
        self._session = session
        self._tenant = tenant

    @property
    def tenant(self) -> str:
        """The tenant whose pairs these are."""
        return self._tenant

    async def get(self, pair_id: str) -> dict[str, Any] | None:
        """One pair by id."""
        return await self._session.get(DUPLICATE_PAIRS, tenant=self._tenant, id=pair_id)

    async def of_contact(self, contact_id: str) -> list[dict[str, Any]]:
        """Every pair (dismissed ones too) the contact is in."""
        return await self._session.find(
            DUPLICATE_PAIRS,
            tenant=self._tenant,
            where=(Contains("contact_ids", contact_id),),
            limit=10_000,
        )

    async def of_contacts(self, contact_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Id -> pair, of every pair (dismissed ones too) any of these contacts is in."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(dict.fromkeys(contact_ids))):
            docs = await self._session.find(
                DUPLICATE_PAIRS,
                tenant=self._tenant,
                where=(ContainsAny("contact_ids", chunk),),
                limit=_NO_LIMIT,
            )
            found.update((doc["id"], doc) for doc in docs)
        return found

    async def page(
        self, *, min_score: float, limit: int, after: Cursor | None
    ) -> list[dict[str, Any]]:
        """Open pairs scoring at least `min_score`, best first."""
        return await self._session.find(
            DUPLICATE_PAIRS,
            tenant=self._tenant,
            where=(Range("score", gte=min_score), Eq("dismissed", False)),
            order_by="score",
            descending=True,
            limit=limit,
            after=after,
        )

    async def put(self, pair: dict[str, Any], *, new: bool) -> None:
        """Insert a new pair or replace a stored one."""
        if new:
            await self._session.insert(DUPLICATE_PAIRS, pair)
        else:
            await self._session.replace(DUPLICATE_PAIRS, pair)

    async def remove(self, pair_ids: Sequence[str]) -> None:
        """Delete pairs by id."""
        for chunk in _chunks(list(pair_ids)):
            await self._session.delete_where(
                DUPLICATE_PAIRS, tenant=self._tenant, where=(In("id", chunk),)
            )

    async def dismissed(self) -> list[dict[str, Any]]:
        """Every pair dismissed as not duplicates."""
        return await self._session.find(
            DUPLICATE_PAIRS, tenant=self._tenant, where=(Eq("dismissed", True),), limit=10**9
        )

    async def by_ids(self, pair_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored pairs among these ids."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(pair_ids)):
            docs = await self._session.find(
                DUPLICATE_PAIRS, tenant=self._tenant, where=(In("id", chunk),), limit=len(chunk)
            )
            found.update((doc["id"], doc) for doc in docs)
        return found

    async def remove_open_ids(self, pair_ids: Sequence[str]) -> None:
        """Delete these pairs unless they were dismissed meanwhile."""
        for chunk in _chunks(list(pair_ids)):
            await self._session.delete_where(
                DUPLICATE_PAIRS,
                tenant=self._tenant,
                where=(In("id", chunk), Eq("dismissed", False)),
            )

    async def remove_open(self) -> int:
        """Delete every pair not dismissed (a full scan rebuilds them)."""
        return await self._session.delete_where(
            DUPLICATE_PAIRS, tenant=self._tenant, where=(Eq("dismissed", False),)
        )

    async def insert_many(self, pairs: Sequence[dict[str, Any]]) -> None:
        """Insert pairs in one statement batch."""
        if pairs:
            await self._session.insert_many(DUPLICATE_PAIRS, pairs)


def _entry_id(tenant: str, contact_id: str) -> str:
    return f"{tenant}/{contact_id}"


def token_ms(token: str) -> int:
    """When an entry was queued, in Unix milliseconds: a token is a UUIDv7 (`new_id`)."""
    return int(token.replace("-", "")[:12], 16)


async def queue_rematch(
    session: Session,
    tenant: str,
    contact_ids: Iterable[str],
    *,
    reason: str = "changed",
    import_job: str | None = None,
    new_contacts: bool = False,
) -> None:
    """Ask for these contacts' pairs to be recomputed, in the caller's transaction.

    One entry per contact: an entry already queued is replaced (the latest reason and token
    win), so a contact created and then updated is matched once. With `import_job`, the entries
    wait until that import's batches stop arriving (see `refresh_queued`). Contacts created in
    this transaction (`new_contacts`) have no entry yet: there is none to replace.
    """
    wanted = list(dict.fromkeys(contact_ids))
    # The tokens made at once (an import batch queues a thousand): one read of the OS's
    # randomness, and the same increasing UUIDv7s as one `new_id` per entry.
    docs: list[dict[str, Any]] = [
        {
            "id": _entry_id(tenant, cid),
            "tenant": QUEUE_TENANT,
            "contact_tenant": tenant,
            "contact_id": cid,
            "reason": reason,
            "after_import": import_job,
            "token": token,
        }
        for cid, token in zip(wanted, new_ids(len(wanted)), strict=True)
    ]
    if docs and not new_contacts:
        # The port has no upsert: the earlier entries go first, in the same transaction.
        for chunk in _chunks([d["id"] for d in docs]):
            await session.delete_where(MATCH_QUEUE, tenant=QUEUE_TENANT, where=(In("id", chunk),))
    if docs:
        await session.insert_many(MATCH_QUEUE, docs)


async def queued(
    session: Session, *, limit: int, with_imports: bool = True
) -> list[dict[str, Any]]:
    """Queue entries, every tenant: those not from an import, oldest first; or every entry,
    in id order (by tenant, then contact id: the order an import created its contacts)."""
    if with_imports:
        return await session.find(MATCH_QUEUE, tenant=QUEUE_TENANT, limit=limit)
    return await session.find(
        MATCH_QUEUE,
        tenant=QUEUE_TENANT,
        where=(Eq("after_import", None),),
        order_by="token",
        limit=limit,
    )


async def newest_of_import(session: Session, job_id: str) -> dict[str, Any] | None:
    """The entry an import job queued last, if any is still queued."""
    found = await session.find(
        MATCH_QUEUE,
        tenant=QUEUE_TENANT,
        where=(Eq("after_import", job_id),),
        order_by="token",
        descending=True,
        limit=1,
    )
    return found[0] if found else None


async def dequeue(session: Session, entries: Sequence[Mapping[str, Any]]) -> None:
    """Drop handled queue entries, unless their contact was queued again meanwhile.

    A contact changed while its round was matching has a new token: its entry stays, and it is
    matched again in a later round. The entries are read back by id in the caller's
    transaction (the primary key; a delete naming the tokens would walk their index instead).
    """
    handled = {e["id"]: e.get("token") for e in entries}
    for chunk in _chunks(list(handled)):
        now = await session.find(
            MATCH_QUEUE, tenant=QUEUE_TENANT, where=(In("id", chunk),), limit=len(chunk)
        )
        same = tuple(e["id"] for e in now if e.get("token") == handled[e["id"]])
        if same:
            await session.delete_where(MATCH_QUEUE, tenant=QUEUE_TENANT, where=(In("id", same),))
