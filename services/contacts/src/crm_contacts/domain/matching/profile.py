"""What the matching engine reads of a contact, and the keys that find its candidates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from crm_contacts.domain.accounts import is_free_mail
from crm_contacts.domain.matching.names import block_keys, name_tokens
from crm_contacts.domain.text import fold

# Fields whose change can change what a contact matches.
MATCH_FIELDS = frozenset({"name", "email", "emails", "phone", "phones", "company", "external_ids"})
# Prefixes of `match_keys` entries: an email, a phone, an external id (name blocks: names.py).
EMAIL_KEY = "e:"
PHONE_KEY = "p:"
EXTERNAL_KEY = "x:"


class MatchProfile(NamedTuple):
    """A contact reduced to what matching compares; built once per contact per comparison run.

    A named tuple of strings and tuples of strings, not a dataclass with sets: the full scan
    holds a million of them, a tuple is built several times faster, and the garbage collector
    stops tracking a tuple that holds only strings, so they do not slow every later collection.
    The identifier tuples are short (usually one entry): membership tests beat set operations.
    """

    id: str
    tokens: tuple[str, ...]
    name_key: str
    company: str
    emails: tuple[str, ...]
    domains: tuple[str, ...]
    phones: tuple[str, ...]
    external_ids: tuple[str, ...]
    # The contact's `match_keys`: what the scan blocks on, the same keys its look-ups use.
    keys: tuple[str, ...]


def _external_ids(doc: Mapping[str, Any]) -> frozenset[str]:
    """External ids as `system:id` (a mapping of system -> id, or a list of such strings)."""
    raw = doc.get("external_ids") or ()
    if isinstance(raw, Mapping):
        return frozenset(f"{system}:{value}" for system, value in raw.items() if value)
    return frozenset(str(item) for item in raw if item)


def _domain(email: str) -> str | None:
    domain = email.rpartition("@")[2]
    return None if not domain or is_free_mail(domain) else domain


def _work_domains(emails: list[str]) -> tuple[str, ...]:
    """The distinct work (not free-mail) domains of the emails, in order."""
    # Most contacts hold one address: no generator and dict for it (a re-match round builds
    # a profile for each of its contacts and of their blocks' holders).
    if len(emails) == 1:
        domain = _domain(emails[0])
        return (domain,) if domain else ()
    return tuple(dict.fromkeys(d for e in emails if (d := _domain(e))))


def match_profile(doc: Mapping[str, Any]) -> MatchProfile:
    """The matching view of a contact document (or of a validated profile with an id).

    A stored contact carries its `match_keys`, which already hold its normalized emails, phones
    and external ids: those are read off the keys, which is what makes loading a million
    profiles for the full scan cheap. A document without them (a profile not yet stored) has
    them derived, as has one whose keys are empty (a store reads an absent field as empty).
    """
    stored = doc.get("match_keys")
    keys = tuple(stored) if stored else tuple(match_keys(doc))
    tokens = name_tokens(doc.get("name") or "")
    emails: list[str] = []
    phones: list[str] = []
    external_ids: list[str] = []
    for key in keys:
        kind = key[:2]
        if kind == EMAIL_KEY:
            emails.append(key[2:])
        elif kind == PHONE_KEY:
            phones.append(key[2:])
        elif kind == EXTERNAL_KEY:
            external_ids.append(key[2:])
    return MatchProfile(
        id=str(doc.get("id") or ""),
        tokens=tokens,
        name_key=" ".join(sorted(tokens)),
        company=fold(doc.get("company") or ""),
        emails=tuple(emails),
        domains=_work_domains(emails),
        phones=tuple(phones),
        external_ids=tuple(external_ids),
        keys=keys,
    )


def match_keys(doc: Mapping[str, Any]) -> list[str]:
    """The derived, indexed `match_keys` of a contact: emails, phones, external ids, name blocks.

    Every identifier is here so a contact's candidates are one indexed query; the `email`
    search filter and the primary-email look-ups read the `e:` keys too (no second index).
    """
    keys = [EMAIL_KEY + e for e in _sorted_values(doc.get("email"), doc.get("emails"))]
    keys += [PHONE_KEY + p for p in _sorted_values(doc.get("phone"), doc.get("phones"))]
    if doc.get("external_ids"):
        keys += [EXTERNAL_KEY + x for x in sorted(_external_ids(doc))]
    keys += block_keys(name_tokens(doc.get("name") or ""))
    return keys


def _sorted_values(primary: Any, more: Any) -> list[Any]:
    """The distinct non-empty values of a single field and its list field (the email and the
    additional emails, or the phones), sorted; without a set when there are no additional ones
    (nearly every import row: 5.1 -> 1.7 us per `match_keys`)."""
    if not more:
        return [primary] if primary else []
    return sorted({value for value in (primary, *more) if value})


def rematch_needed(changed_fields: Iterable[str]) -> bool:
    """Whether a change touches what a contact matches on."""
    return not MATCH_FIELDS.isdisjoint(changed_fields)
