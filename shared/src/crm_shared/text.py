"""Text folding for search: one function, used when the searched text is written and when a
query is read, so both sides always fold alike.

Lower case, accents stripped, letters without an accent decomposition transliterated (Ø -> o,
ß -> ss, Ł -> l, æ -> ae, 北京 -> beijing) and whitespace collapsed. `anyascii` is pinned in
crm_shared's dependencies: a different transliteration table would make stored text and queries
fold apart, so changing it means re-folding the stored text.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from anyascii import anyascii

# Queries shorter than this (per word) cannot be served by a trigram index.
MIN_INDEXED_LENGTH = 3


@lru_cache(maxsize=65536)
def search_fold(text: str) -> str:
    """Fold text so 'Ødegaard  STRAßE' and 'odegaard strasse' compare equal."""
    if text.isascii():  # the common case: lowering and collapsing spaces is all there is to do
        return " ".join(text.lower().split())
    # Strip combining marks first, so letters that decompose keep their base letter; anyascii
    # then spells the rest (Ø, ß, Ł, æ, other scripts) in ASCII.
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    if not stripped.isascii():
        stripped = anyascii(stripped)
    return " ".join(stripped.lower().split())
