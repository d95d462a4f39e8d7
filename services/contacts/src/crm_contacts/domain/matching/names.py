"""Names as a person compares them: folded, nicknames resolved, order-free, sounded out."""

from __future__ import annotations

import re
from functools import lru_cache

from crm_contacts.domain.text import fold

# Nickname -> the given name it shortens (common English, plus a few French, German, Spanish
# and Italian ones). Cheap on purpose: a dict look-up per first name.
_NICKNAMES: dict[str, tuple[str, ...]] = {
    "alexander": ("alex", "sasha", "sandy"),
    "andrew": ("andy", "drew"),
    "anthony": ("tony",),
    "benjamin": ("ben", "benny"),
    "charles": ("charlie", "chuck", "chas"),
    "christopher": ("chris", "kit"),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davy"),
    "edward": ("ed", "eddie", "ted", "ned"),
    "elizabeth": ("liz", "beth", "betty", "eliza", "lizzie", "betsy"),
    "francis": ("frank", "fran"),
    "frederick": ("fred", "freddie"),
    "gregory": ("greg",),
    "henry": ("harry", "hank"),
    "james": ("jim", "jimmy", "jamie"),
    "jennifer": ("jen", "jenny"),
    "john": ("jack", "johnny"),
    "jonathan": ("jon", "jonny"),
    "joseph": ("joe", "joey"),
    "katherine": ("kate", "kathy", "katie", "kat", "catherine", "kathryn"),
    "lawrence": ("larry",),
    "margaret": ("maggie", "meg", "peggy", "marge"),
    "matthew": ("matt",),
    "michael": ("mike", "mikey", "mick"),
    "nicholas": ("nick", "nicky"),
    "patricia": ("pat", "patty", "trish"),
    "patrick": ("paddy",),
    "peter": ("pete",),
    "rebecca": ("becky", "becca"),
    "richard": ("rick", "dick", "rich", "ricky"),
    "robert": ("bob", "rob", "bobby", "robbie", "bert"),
    "samuel": ("sam", "sammy"),
    "stephen": ("steve", "steven", "stevie"),
    "susan": ("sue", "susie"),
    "theodore": ("theo",),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim",),
    "victoria": ("vicky", "tori"),
    "william": ("bill", "will", "billy", "willy", "liam"),
    "zachary": ("zack", "zach"),
    # French, German, Spanish, Italian
    "francois": ("francis",),
    "johann": ("hans",),
    "wolfgang": ("wolf",),
    "francisco": ("paco", "pancho", "cisco"),
    "jose": ("pepe",),
    "guillermo": ("memo",),
    "giuseppe": ("beppe", "peppe"),
    "alessandro": ("sandro",),
}
NICKNAMES: dict[str, str] = {short: full for full, shorts in _NICKNAMES.items() for short in shorts}
# Prefixes of the name blocks in `match_keys`: the exact (folded, order-free) name, its sound,
# last name + first initial, and first name + last initial. The exact block is the most telling
# and usually the smallest.
EXACT_NAME_KEY = "n:"
SOUND_KEY = "s:"
LAST_INITIAL_KEY = "l:"
FIRST_INITIAL_KEY = "f:"
NAME_KEYS = (EXACT_NAME_KEY, SOUND_KEY, LAST_INITIAL_KEY, FIRST_INITIAL_KEY)
_PUNCTUATION = re.compile(r"[^\w\s]")
_SOUNDEX = str.maketrans("bfpvcgjkqsxzdtlmnr", "111122222222334556")


@lru_cache(maxsize=65536)
def name_tokens(name: str) -> tuple[str, ...]:
    """The folded words of a name, punctuation dropped, the first one's nickname resolved."""
    words = _PUNCTUATION.sub(" ", fold(name)).split()
    if words:
        words[0] = NICKNAMES.get(words[0], words[0])
    return tuple(words)


@lru_cache(maxsize=65536)
def soundex(word: str) -> str:
    """American Soundex of a folded word ('robert' and 'rupert' -> R163), '' if no letters."""
    letters = [ch for ch in word if "a" <= ch <= "z"]
    if not letters:
        return ""
    first = letters[0]
    codes = [first.translate(_SOUNDEX)]
    for ch in letters[1:]:
        code = ch.translate(_SOUNDEX)
        if ch in "hw":
            continue  # h and w do not separate equal codes
        if code != codes[-1]:
            codes.append(code)
    digits = "".join(c for c in codes[1:] if c.isdigit())
    return (first.upper() + digits + "000")[:4]


def block_keys(tokens: tuple[str, ...]) -> list[str]:
    """The blocking keys of a name (see `_block_keys`), a fresh list the caller may extend."""
    return list(_block_keys(tokens))


@lru_cache(maxsize=65536)
def _block_keys(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The blocking keys of a name: exact, sounded out, last name + first initial, and first
    name + last initial.

    The first two sort the first and last word, so a swapped first/last name gives the same
    keys; the phonetic one absorbs most typos, but not one that changes a consonant's sound
    ("Smith" / "Slmith": S530 / S453) or a first letter. Last name + first initial catches a
    typo in the first name, an initial ("J. Smith") and a nickname the table lacks; first name
    + last initial catches a typo anywhere in the surname after its first letter, which no
    other key survives.
    """
    if not tokens:
        return ()
    first, last = tokens[0], tokens[-1]
    keys = [EXACT_NAME_KEY + " ".join(sorted({first, last}))]
    sounds = sorted({soundex(first), soundex(last)} - {""})
    if sounds:
        keys.append(SOUND_KEY + " ".join(sounds))
    keys += weak_block_keys(tokens)
    return tuple(keys)


def weak_block_keys(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The weak blocks of a name: last name + first initial, first name + last initial.

    Uncached and without the sounds: a re-match round derives them for ~170 holders per contact
    at a million stored, where `_block_keys` spent most of its time on soundex.
    """
    if len(tokens) < 2:
        return ()
    first, last = tokens[0], tokens[-1]
    return (f"{LAST_INITIAL_KEY}{last} {first[0]}", f"{FIRST_INITIAL_KEY}{first} {last[0]}")
