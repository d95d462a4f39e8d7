"""The duplicate-matching engine: pure functions from contacts to scored pairs with reasons.

`match_keys` derives the indexed keys that find a contact's candidates in one query (phones,
external ids, name blocks; emails are indexed already), `match_profile` reduces a contact to what
is compared, and `score_pair` / `rank` score candidates. Used by the API, imports and the scan.
"""

from crm_contacts.domain.matching.names import block_keys, name_tokens, soundex
from crm_contacts.domain.matching.profile import (
    MatchProfile,
    match_keys,
    match_profile,
    rematch_needed,
)
from crm_contacts.domain.matching.scoring import Match, name_similarity, rank, score_pair

__all__ = [
    "Match",
    "MatchProfile",
    "block_keys",
    "match_keys",
    "match_profile",
    "name_similarity",
    "name_tokens",
    "rank",
    "rematch_needed",
    "score_pair",
    "soundex",
]
