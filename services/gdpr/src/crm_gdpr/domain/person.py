"""A data subject as the contacts service resolved them: records and identifier hashes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PersonFound:
    """The records of a person (`id`, `state`, `merged_into` each) and their identifier hashes.

    The hashes are keyed HMACs: the gdpr service never sees the emails or phones themselves.
    """

    records: list[dict[str, Any]]
    identifier_hashes: list[str]

    def erasable_ids(self) -> list[str]:
        """The records not erased yet, in id order."""
        return sorted(str(r["id"]) for r in self.records if r.get("state") != "erased")
