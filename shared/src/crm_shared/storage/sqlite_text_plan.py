"""Which trigrams a text search asks the FTS5 index for: the rarest few first.

A query's rows must hold every trigram of its words, but the index need not be asked for all of
them: every word is checked on the document anyway (`instr`), so any subset of the trigrams
selects a superset of the matches. The cost of an FTS5 AND grows with its terms' postings: a
substring of an email such as "a.lovelace.123456@exa" asks for "@ex" and "exa", which every
contact holds, beside "345", which one in a few hundred holds. Asked for its four rarest
trigrams, the index answers in a fraction of the time (20,000 contacts: 1.2 ms -> 0.04 ms) with
a handful of extra candidates, each then read and checked.

How many rows hold a trigram (counted up to COUNT_CAP) is learnt the first time a query asks for
it, in one statement for all of a query's new trigrams, and kept per process for MAX_AGE seconds:
a count that has drifted since makes a search slower, never wrong. When the rarest trigrams
still select too many rows to lead a page, all of them are asked for, as before.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from crm_shared.storage.sqlite_reads import Fetch

# Trigrams asked for first: the rarest this many of a query's.
RAREST = 4
# Rows counted per trigram: enough to tell a digit triple (~1% of contacts) from "exa" (all).
COUNT_CAP = 20_000
# Seconds a learnt count is used before it is counted again.
MAX_AGE = 600.0
# Counts kept at most (the distinct trigrams of folded text are a few tens of thousands).
MAX_KNOWN = 100_000


def quoted(grams: Sequence[str]) -> str:
    """The FTS5 AND of the trigrams, each a quoted string (nothing in it is FTS5 syntax)."""
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


@dataclass
class TrigramCounts:
    """How many rows of one FTS5 table hold each trigram (up to COUNT_CAP), as learnt."""

    table: str
    _known: dict[str, tuple[int, float]] = field(default_factory=dict)

    async def of(self, fetch: Fetch, grams: Sequence[str]) -> dict[str, int]:
        """The count of each trigram, counting the unknown and stale ones in one statement."""
        now = time.monotonic()
        stale = [g for g in grams if (k := self._known.get(g)) is None or now - k[1] > MAX_AGE]
        if stale:
            if len(self._known) + len(stale) > MAX_KNOWN:
                self._known.clear()
            arms = " UNION ALL ".join(
                f"SELECT {i}, count(*) FROM (SELECT rowid FROM {self.table} "
                f"WHERE {self.table} MATCH ? LIMIT {COUNT_CAP})"
                for i in range(len(stale))
            )
            rows = await fetch(arms, [quoted([g]) for g in stale])
            for row in rows:
                self._known[stale[int(row[0])]] = (int(row[1]), now)
        return {g: self._known[g][0] for g in grams}

    async def expressions(self, fetch: Fetch, grams: Sequence[str]) -> list[str]:
        """The FTS5 queries to try in turn: the rarest RAREST trigrams, then all of them."""
        if len(grams) <= RAREST:
            return [quoted(grams)]
        counts = await self.of(fetch, grams)
        # Sorted is stable: among equal counts the query's own order decides.
        rarest = sorted(grams, key=counts.__getitem__)[:RAREST]
        return [quoted(rarest), quoted(grams)]
