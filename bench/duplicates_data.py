"""Generated contacts for the duplicates benchmark, with known duplicates of four kinds.

Names are drawn by frequency from real first-name and surname tables of nine locales (the
`faker` package's, US census weights for en_US, Zipf-like elsewhere: about 4,000 first names and
6,000 surnames), so strangers share a name about as often as in real data; every contact has its
own email and phone and one of ~6,600 companies. Known
duplicates are added as pairs (an original, then a copy with another email, no phone and the
same company) whose name was changed in one way: a typo, first and last swapped, accents lost,
or a nickname.
"""

from __future__ import annotations

import importlib
import itertools
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from crm_contacts.domain.matching.names import NICKNAMES

KINDS = ("typo", "swapped", "accents", "nickname")
_NICKNAMED = sorted({full for full in NICKNAMES.values()})
# Where the generated people come from: a locale's share of the contacts. Names come from the
# faker package's name tables (real frequency weights where it has them, e.g. US census
# surnames; otherwise a Zipf weight 1/rank^0.5 over the table in a fixed shuffled order).
_LOCALES = {
    "en_US": 0.40,
    "en_GB": 0.10,
    "de_DE": 0.10,
    "fr_FR": 0.08,
    "es_ES": 0.10,
    "it_IT": 0.08,
    "nl_NL": 0.06,
    "sv_SE": 0.04,
    "pt_PT": 0.04,
}
# Zipf exponent for tables without weights: a head, but no name held by more than ~0.1%.
_ZIPF = 0.5
_SYLLABLES = ["ber", "man", "son", "ko", "li", "var", "en", "ski", "dor", "hal", "ma", "ri", "to"]
_ACCENTED = {"e": "é", "o": "ö", "a": "á", "u": "ü", "n": "ñ", "c": "ç", "i": "í"}


@dataclass(frozen=True)
class _Table:
    """Names and their cumulative weights, for `random.choices`."""

    names: tuple[str, ...]
    cumulative: tuple[float, ...]

    def draw(self, rng: random.Random) -> str:
        return rng.choices(self.names, cum_weights=self.cumulative)[0]


def _table(raw: Iterable[str] | Mapping[str, float], seed: int) -> _Table:
    if isinstance(raw, Mapping):
        weighted = [(str(n), float(w)) for n, w in raw.items()]
    else:
        names = sorted(dict.fromkeys(str(n) for n in raw))
        random.Random(seed).shuffle(names)
        weighted = [(n, rank**-_ZIPF) for rank, n in enumerate(names, start=1)]
    return _Table(
        tuple(n for n, _ in weighted), tuple(itertools.accumulate(w for _, w in weighted))
    )


def _locale_tables() -> list[tuple[_Table, _Table]]:
    tables = []
    for seed, locale in enumerate(_LOCALES):
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        male, female = provider.first_names_male, provider.first_names_female
        weighted = isinstance(male, Mapping)
        first: dict[str, float] | list[str] = (
            {**dict(male), **dict(female)} if weighted else [*male, *female]
        )
        tables.append((_table(first, seed), _table(provider.last_names, seed + 100)))
    return tables


_TABLES = _locale_tables()
_LOCALE_CUMULATIVE = tuple(itertools.accumulate(_LOCALES.values()))
COMPANIES = [
    f"{a.capitalize()}{b}{c} {s}"
    for a in _SYLLABLES
    for b in _SYLLABLES
    for c in _SYLLABLES
    for s in ("Inc", "GmbH", "Ltd")
]
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com")


def person(rng: random.Random) -> tuple[str, str]:
    """A first name and a surname from one locale, drawn by frequency."""
    first, last = rng.choices(_TABLES, cum_weights=_LOCALE_CUMULATIVE)[0]
    return first.draw(rng), last.draw(rng)


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
        profiles.append(_profile(i, *person(rng), rng))
    raw: list[tuple[str, int, int]] = []
    for n in range(pairs):
        kind = KINDS[n % len(KINDS)]
        first, last = person(rng)
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
