"""Generated contacts for the duplicates benchmark, with known duplicates of four kinds.

Names are drawn with a mild skew from 300 first names and ~9,000 made-up surnames (so
same-name strangers occur, as in real data); every contact has its own email and phone. Known
duplicates are added as pairs (an original, then a copy with another email, no phone and the
same company) whose name was changed in one way: a typo, first and last swapped, accents lost,
or a nickname.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from crm_contacts.domain.matching.names import NICKNAMES

KINDS = ("typo", "swapped", "accents", "nickname")
_NICKNAMED = sorted({full for full in NICKNAMES.values()})
_FIRST_PLAIN = [
    "Ada",
    "Grace",
    "Alan",
    "Maria",
    "Olivia",
    "Emma",
    "Noah",
    "Liam",
    "Sofia",
    "Lucas",
    "Mia",
    "Ethan",
    "Chloe",
    "Hugo",
    "Lea",
    "Jonas",
    "Elena",
    "Marco",
    "Yuki",
    "Priya",
    "Omar",
    "Fatima",
    "Ivan",
    "Anna",
    "Lars",
    "Ingrid",
    "Pedro",
    "Lucia",
    "Chen",
    "Wei",
    "Aisha",
    "Kofi",
    "Amara",
]
_SYLLABLES = [
    "ber",
    "man",
    "son",
    "ko",
    "li",
    "var",
    "en",
    "ski",
    "dor",
    "hal",
    "ma",
    "ri",
    "to",
    "ne",
    "gan",
    "zel",
    "wic",
    "ath",
    "bro",
    "ley",
    "mon",
    "tes",
    "quin",
    "ros",
    "fal",
    "dun",
]
_ACCENTED = {"e": "é", "o": "ö", "a": "á", "u": "ü", "n": "ñ", "c": "ç", "i": "í"}


def _first_names() -> list[str]:
    names = [n.capitalize() for n in _NICKNAMED] + _FIRST_PLAIN
    rng = random.Random(3)
    while len(names) < 300:
        names.append("".join(rng.choice(_SYLLABLES) for _ in range(2)).capitalize())
    return list(dict.fromkeys(names))


def _surnames() -> list[str]:
    names = [a + b for a in _SYLLABLES for b in _SYLLABLES]
    names += [a + b + c for a in _SYLLABLES[:13] for b in _SYLLABLES for c in _SYLLABLES[:13]]
    return [n.capitalize() for n in dict.fromkeys(names)]


FIRST = _first_names()
LAST = _surnames()
COMPANIES = [f"{a.capitalize()}{b} {s}" for a in _SYLLABLES for b in _SYLLABLES for s in ("Inc",)]
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com")


def _skewed(rng: random.Random, values: list[str]) -> str:
    # Rank ~ u^1.5: the head is likelier than the tail, not Zipf-extreme.
    return values[int(len(values) * rng.random() ** 1.5)]


def _accented(name: str, rng: random.Random) -> str:
    spots = [i for i, ch in enumerate(name) if ch in _ACCENTED]
    if not spots:
        return name + "é"
    i = rng.choice(spots)
    return name[:i] + _ACCENTED[name[i]] + name[i + 1 :]


def _typo(name: str, rng: random.Random) -> str:
    """One edit after the first letter: substitution, deletion, insertion or transposition."""
    if len(name) < 4:
        return name + "e"
    i = rng.randrange(1, len(name) - 1)
    letter = rng.choice("aeiourstnl")
    match rng.randrange(4):
        case 0:
            return name[:i] + letter + name[i + 1 :]
        case 1:
            return name[:i] + name[i + 1 :]
        case 2:
            return name[:i] + letter + name[i:]
        case _:
            return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


@dataclass(frozen=True)
class KnownPair:
    """Positions of an original and its known duplicate in the generated list."""

    kind: str
    original: int
    duplicate: int


def _profile(i: int, first: str, last: str, rng: random.Random) -> dict[str, Any]:
    company = _skewed(rng, COMPANIES)
    domain = rng.choice(FREE_MAIL) if rng.random() < 0.5 else company.split()[0].lower() + ".com"
    ascii_first = first.encode("ascii", "ignore").decode().lower()
    return {
        "name": f"{first} {last}",
        "email": f"{ascii_first}.{i}@{domain}",
        "phone": f"+1415{2_000_000 + i:07d}",
        "company": company,
    }


def _duplicate_name(kind: str, first: str, last: str, rng: random.Random) -> tuple[str, str]:
    """The original's name (possibly adjusted for the kind) and the duplicate's."""
    if kind == "typo":
        if rng.random() < 0.5:
            return f"{first} {last}", f"{first} {_typo(last, rng)}"
        return f"{first} {last}", f"{_typo(first, rng)} {last}"
    if kind == "swapped":
        return f"{first} {last}", f"{last} {first}"
    if kind == "accents":
        accented = _accented(last, rng)
        return f"{first} {accented}", f"{first.lower()} {last.upper()}"
    full = rng.choice(_NICKNAMED)
    nick = rng.choice([n for n, f in NICKNAMES.items() if f == full])
    return f"{full.capitalize()} {last}", f"{nick.capitalize()} {last}"


def generate(
    count: int, *, seed: int = 7, duplicate_share: float = 0.01
) -> tuple[list[dict[str, Any]], list[KnownPair]]:
    """`count` profiles, of which `duplicate_share` are known duplicates of another one."""
    rng = random.Random(seed)
    profiles: list[dict[str, Any]] = []
    known: list[KnownPair] = []
    pairs = int(count * duplicate_share)
    for i in range(count - 2 * pairs):
        profiles.append(_profile(i, _skewed(rng, FIRST), _skewed(rng, LAST), rng))
    raw: list[tuple[str, int, int]] = []
    for n in range(pairs):
        kind = KINDS[n % len(KINDS)]
        first, last = _skewed(rng, FIRST), _skewed(rng, LAST)
        original_name, duplicate_name = _duplicate_name(kind, first, last, rng)
        i = len(profiles)
        original = _profile(i, first, last, rng) | {"name": original_name}
        duplicate = {
            "name": duplicate_name,
            "email": f"dup.{i}@{rng.choice(FREE_MAIL)}",
            "company": original["company"],
        }
        profiles += [original, duplicate]
        raw.append((kind, i, i + 1))
    # Spread the pairs through the list, as real duplicates arrive over time.
    order = list(range(len(profiles)))
    rng.shuffle(order)
    position = {old: new for new, old in enumerate(order)}
    shuffled = [profiles[old] for old in order]
    known = [KnownPair(kind, position[a], position[b]) for kind, a, b in raw]
    return shuffled, known
