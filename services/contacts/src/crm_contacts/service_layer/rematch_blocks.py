"""A re-match round's blocks, read in bulk: one query per kind of key for the whole round.

The keys of a round's contacts are grouped by kind (shared identifiers, exact names, sounds;
later the weak name keys of the contacts that need them) and each kind is one indexed query
(IN lists of up to 500 keys) whose holders are kept by key. Each contact's look-up is then
answered from memory with the limits a look-up of its own has (candidates.py), so a round finds
the pairs one-by-one look-ups find; contacts of one round that share a key find each other in
what was read once. A kind with more holders than the round may read (a common name's sound at
a million contacts) is not kept: its look-ups go to the store one by one, as before.

The weak name blocks hold ~170 holders per contact at a million stored, and a look-up needs only
their names: they are read as names alone (decoding each holder's whole `match_keys` array was
most of a round's time). Which of the round's weak keys a holder holds is derived from its name,
as its stored keys were (`match_keys`: a name's blocks are a function of the name alone). The
few holders with similar names are then read as MATCH_VIEW in one query for the round
(`read_views`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from crm_contacts.adapters.duplicates import MATCH_VIEW, CandidateFinder
from crm_contacts.domain.matching import MatchProfile, match_profile
from crm_contacts.domain.matching.names import NAME_KEYS, name_tokens, weak_block_keys
from crm_contacts.service_layer.candidates import (
    IDENTIFIER_CANDIDATES,
    NAME_CANDIDATES,
    STRONG_NAME_KEYS,
    WEAK_HOLDERS,
    WEAK_NAME_KEYS,
    FinderSource,
)
from crm_shared.storage import DocumentStore

_NAME_ONLY = ("name",)


def _by_kind(keys: Iterable[str]) -> dict[str, set[str]]:
    """The keys by kind, their two-character prefix ("e:", "n:", ...), in one pass over them."""
    kinds: dict[str, set[str]] = defaultdict(set)
    for key in keys:
        kinds[key[:2]].add(key)
    return kinds


def _of_kinds(kinds: dict[str, set[str]], prefixes: Iterable[str]) -> set[str]:
    return set().union(*(kinds.get(prefix, ()) for prefix in prefixes))


class RoundBlocks:
    """The holders of one round's keys, by key, for one tenant (a `BlockSource`)."""

    def __init__(self, store: DocumentStore, tenant: str) -> None:
        self._store = store
        self._tenant = tenant
        self._by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._by_id: dict[str, dict[str, Any]] = {}
        # The weak blocks' holders by key, each holding its id and name only.
        self._names_by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
        # Ids whose MATCH_VIEW was asked for in bulk: those not in _by_id are not live.
        self._views_read: set[str] = set()
        self._profiles: dict[str, MatchProfile] = {}
        # Keys whose holders were all read: only their look-ups are answered from memory.
        self._complete: set[str] = set()
        self.queries = 0
        self.fallbacks = 0

    async def read_contacts(self, contact_ids: Sequence[str]) -> dict[str, MatchProfile]:
        """The live ones among the round's contacts, by id (a contact not here matches nothing)."""
        async with self._store.reader() as session:
            views = await CandidateFinder(session, self._tenant).live_views(contact_ids)
        self.queries += 1
        self._by_id.update((view["id"], view) for view in views)
        return {view["id"]: self.profile(view) for view in views}

    async def read_strong(self, profiles: Sequence[MatchProfile]) -> None:
        """Read the identifier, exact-name and sound blocks of these contacts, one query each."""
        by_kind = _by_kind(k for p in profiles for k in p.keys)
        identifiers = _of_kinds(by_kind, (kind for kind in by_kind if kind not in NAME_KEYS))
        kinds = [
            (identifiers, IDENTIFIER_CANDIDATES),
            *((by_kind.get(prefix, set()), NAME_CANDIDATES) for prefix in STRONG_NAME_KEYS),
        ]
        await self._read(kinds, contacts=len(profiles))

    async def read_weak(self, profiles: Sequence[MatchProfile]) -> None:
        """Read the names of the weak blocks' holders of these contacts (those whose strong
        blocks found no similar name), one query."""
        weak = (k for p in profiles for k in p.keys if k.startswith(WEAK_NAME_KEYS))
        wanted = set(weak) - self._complete
        if not wanted:
            return
        async with self._store.reader() as session:
            names, complete = await CandidateFinder(session, self._tenant).every_holder(
                sorted(wanted),
                limit=WEAK_HOLDERS * len(profiles),
                fields=_NAME_ONLY,
                candidates=True,  # which keys each holds is derived from its name below
            )
        self.queries += 1
        if complete:
            self._keep_names(names, wanted)

    def _keep_names(self, holders: Sequence[dict[str, Any]], keys: set[str]) -> None:
        by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for holder in holders:
            # similar_names tokenizes the same names next: name_tokens' cache serves both.
            tokens = name_tokens(holder.get("name") or "")
            held = [k for k in weak_block_keys(tokens) if k in keys]
            if not held:
                # Stored keys that are not its name's (a rule changed since it was written):
                # these keys' look-ups read the store, which holds the truth.
                return
            for key in held:
                by_key[key].append(holder)
        self._names_by_key.update(by_key)
        self._complete |= keys

    async def read_views(self, ids: Iterable[str]) -> None:
        """Read these contacts as MATCH_VIEW, one query, for `views` to answer from memory."""
        wanted = sorted({i for i in ids if i not in self._by_id} - self._views_read)
        if not wanted:
            return
        async with self._store.reader() as session:
            views = await CandidateFinder(session, self._tenant).live_views(wanted)
        self.queries += 1
        for view in views:
            self._by_id.setdefault(view["id"], view)
        self._views_read.update(wanted)

    async def _read(self, kinds: Sequence[tuple[set[str], int]], *, contacts: int) -> None:
        async with self._store.reader() as session:
            finder = CandidateFinder(session, self._tenant)
            for keys, per_contact in kinds:
                wanted = keys - self._complete
                if not wanted:
                    continue
                # As many holders as the round's look-ups would read one by one, at most.
                views, complete = await finder.every_holder(
                    sorted(wanted), limit=per_contact * contacts, fields=MATCH_VIEW
                )
                self.queries += 1
                if complete:
                    self._keep(views, wanted)

    def _keep(self, views: Sequence[dict[str, Any]], keys: set[str]) -> None:
        for view in views:
            view = self._by_id.setdefault(view["id"], view)
            for key in view.get("match_keys") or ():
                if key in keys:
                    self._by_key[key].append(view)
        self._complete |= keys

    def holds_alone(self, profile: MatchProfile, *, weak: bool) -> bool:
        """Whether the contact alone holds each of its strong (or weak) keys, all read whole.

        Then its look-up there finds itself and no one else, so it matches no one: the round
        skips that look-up. At 20,000 imported people 78% hold their strong keys alone.
        """
        index = self._names_by_key if weak else self._by_key
        keys = [k for k in profile.keys if k.startswith(WEAK_NAME_KEYS) == weak]
        for key in keys:
            held = index.get(key) if key in self._complete else None
            if not held or len(held) > 1 or held[0]["id"] != profile.id:
                return False
        return bool(keys)

    async def holders(self, keys: Sequence[str], *, limit: int) -> list[dict[str, Any]]:
        if not self._complete.issuperset(keys):
            return await self._fallback_holders(keys, limit=limit)
        found = {view["id"]: view for key in keys for view in self._by_key.get(key, ())}
        return [found[i] for i in sorted(found)[:limit]]

    async def weak_holders(self, keys: Sequence[str], *, limit: int) -> list[dict[str, Any]]:
        if not self._complete.issuperset(keys):
            async with self._store.reader() as session:
                self.fallbacks += 1
                return await FinderSource(CandidateFinder(session, self._tenant)).weak_holders(
                    keys, limit=limit
                )
        found = {h["id"]: h for key in keys for h in self._names_by_key.get(key, ())}
        return [found[i] for i in sorted(found)[:limit]]

    async def views(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        if all(i in self._by_id or i in self._views_read for i in ids):
            return [self._by_id[i] for i in sorted(set(ids)) if i in self._by_id]
        async with self._store.reader() as session:
            self.fallbacks += 1
            return await FinderSource(CandidateFinder(session, self._tenant)).views(ids)

    def profile(self, view: dict[str, Any]) -> MatchProfile:
        found = self._profiles.get(view["id"])
        if found is None:
            found = self._profiles[view["id"]] = match_profile(view)
        return found

    async def _fallback_holders(self, keys: Sequence[str], *, limit: int) -> list[dict[str, Any]]:
        """A look-up of its own, for keys whose blocks were too large to read for the round."""
        async with self._store.reader() as session:
            self.fallbacks += 1
            return await FinderSource(CandidateFinder(session, self._tenant)).holders(
                keys, limit=limit
            )
