"""Identity resolution: which contact a person arriving from a source is, and what to change.

Pure rules, no I/O. Every source (chat, form, integration, find-or-create by email) resolves
the same way: by external id (`system` + id), then by any of its normalized emails, then by any
of its E.164 phones (the matching engine's `match_keys`, one indexed query per step); the oldest
live holder wins. What the source sends updates the contact without ever blanking a value:

- an empty value changes nothing;
- a new email or phone is added to the additional ones, never replacing the primary;
- a single-valued field (name, company, timezone, owner, each custom value) takes the sent value
  when it is empty, or when the write is at least as recent as the last source write of that
  field (`occurred_at`, else the time it was received): the latest write wins, an older one only
  fills blanks;
- tags are added; an external id of another system is added; another id of the same system is a
  conflict (the contact is another record of that system);
- the source joins the contact's `sources`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crm_contacts.domain.contact import Source, unique
from crm_contacts.domain.matching.profile import EMAIL_KEY, EXTERNAL_KEY, PHONE_KEY
from crm_contacts.domain.validation import ADDITIONAL_MAX
from crm_shared.problems import Conflict

# Fields that hold one value the last-writer rule arbitrates.
SINGLE_FIELDS: tuple[str, ...] = ("name", "company", "timezone", "owner")
_EMPTY: tuple[Any, ...] = (None, "", [], {})
CUSTOM_PREFIX = "custom_fields."


class ExternalIdTaken(Conflict):
    """The matched contact already holds another id of the same system."""

    def __init__(self, contact_id: str, system: str) -> None:
        super().__init__(
            f"contact {contact_id} already has another {system} id; "
            "it is another record of that system",
            extra={"existing_id": contact_id},
        )


@dataclass(frozen=True)
class ExternalRef:
    """An id in another system."""

    system: str
    external_id: str

    @property
    def match_key(self) -> str:
        """The `match_keys` entry of a contact holding this id."""
        return f"{EXTERNAL_KEY}{self.system}:{self.external_id}"


@dataclass(frozen=True)
class Arrival:
    """A person arriving from a source: a validated profile, maybe an external id, a time."""

    source: Source
    profile: Mapping[str, Any]
    occurred_at: str
    external: ExternalRef | None = None

    def lookup_steps(self) -> list[list[str]]:
        """The match keys to look up, in order: external id, emails, phones (empty steps out)."""
        emails = [self.profile.get("email"), *(self.profile.get("emails") or ())]
        phones = [self.profile.get("phone"), *(self.profile.get("phones") or ())]
        steps = [
            [self.external.match_key] if self.external else [],
            [EMAIL_KEY + e for e in emails if e],
            [PHONE_KEY + p for p in phones if p],
        ]
        return [step for step in steps if step]


def oldest(candidates: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The candidate created first (ids are time-ordered and break ties)."""
    return min(candidates, key=lambda doc: (str(doc.get("created_at") or ""), str(doc["id"])))


def display_name(profile: Mapping[str, Any]) -> str:
    """A new contact's name: the one given, else its email, else its phone as typed."""
    name = profile.get("name")
    if name:
        return str(name)
    return str(profile.get("email") or profile.get("phone_raw") or profile.get("phone") or "")


def new_contact_profile(arrival: Arrival) -> dict[str, Any]:
    """The profile a contact created from this arrival starts with."""
    profile = {k: v for k, v in arrival.profile.items() if v not in _EMPTY}
    profile["name"] = display_name(arrival.profile)
    if arrival.external is not None:
        profile["external_ids"] = {arrival.external.system: arrival.external.external_id}
    return profile


def written_times(profile: Mapping[str, Any], at: str) -> dict[str, str]:
    """The `field_times` of the single-valued fields (and custom values) a write set."""
    times = {name: at for name in SINGLE_FIELDS if profile.get(name) not in _EMPTY}
    times.update((CUSTOM_PREFIX + key, at) for key in profile.get("custom_fields") or {})
    return times


@dataclass
class Resolution:
    """The partial profile to apply to a matched contact, and its new `field_times`."""

    profile: dict[str, Any] = field(default_factory=dict)
    field_times: dict[str, str] = field(default_factory=dict)


def _wins(current: Any, times: Mapping[str, str], name: str, at: str) -> bool:
    return current in _EMPTY or at >= times.get(name, "")


def _added(current: list[str], primary: Any, new: Sequence[Any]) -> list[str] | None:
    """`current` plus the values of `new` it lacks (primary left out, at most 10); None if same."""
    if not current and not any(v and v != primary for v in new):
        return None  # nothing held, nothing added: an import row's usual case, without a list
    merged = unique([*current, *(v for v in new if v and v != primary)])[:ADDITIONAL_MAX]
    return merged if merged != current else None


def _emails(doc: Mapping[str, Any], sent: Mapping[str, Any], out: dict[str, Any]) -> None:
    primary = doc.get("email")
    given = [sent.get("email"), *(sent.get("emails") or ())]
    if not primary and given[0]:
        primary = out["email"] = given[0]
    emails = _added(list(doc.get("emails") or ()), primary, given)
    if emails is not None:
        out["emails"] = emails


def _phones(doc: Mapping[str, Any], sent: Mapping[str, Any], out: dict[str, Any]) -> None:
    primary = doc.get("phone")
    typed_by_number = dict(
        zip(sent.get("phones") or (), sent.get("phones_raw") or (), strict=False)
    )
    if sent.get("phone"):
        typed_by_number.setdefault(sent["phone"], sent.get("phone_raw") or sent["phone"])
    given = [sent.get("phone"), *(sent.get("phones") or ())]
    if not primary and given[0]:
        primary = out["phone"] = given[0]
        out["phone_raw"] = typed_by_number.get(given[0], given[0])
    current = list(doc.get("phones") or ())
    phones = _added(current, primary, given)
    if phones is not None:
        typed = list(doc.get("phones_raw") or current)
        out["phones"] = phones
        out["phones_raw"] = [
            typed[i] if i < len(current) and i < len(typed) else typed_by_number.get(n, n)
            for i, n in enumerate(phones)
        ]


def resolve_update(doc: Mapping[str, Any], arrival: Arrival) -> Resolution:
    """What an arrival changes on the contact it resolved to (see the module's rules)."""
    sent, at = arrival.profile, arrival.occurred_at
    times = dict(doc.get("field_times") or {})
    out: dict[str, Any] = {}
    for name in SINGLE_FIELDS:
        value = sent.get(name)
        if value in _EMPTY or value == doc.get(name):
            continue
        if _wins(doc.get(name), times, name, at):
            out[name] = value
            times[name] = at
    custom = {}
    stored = doc.get("custom_fields") or {}
    for key, value in (sent.get("custom_fields") or {}).items():
        name = CUSTOM_PREFIX + key
        if (
            value not in _EMPTY
            and value != stored.get(key)
            and _wins(stored.get(key), times, name, at)
        ):
            custom[key] = value
            times[name] = at
    if custom:
        out["custom_fields"] = custom
    _emails(doc, sent, out)
    _phones(doc, sent, out)
    tags = list(doc.get("tags") or ())
    new_tags = [t for t in sent.get("tags") or () if t not in tags]
    if new_tags:
        out["tags"] = tags + new_tags
    ids = dict(doc.get("external_ids") or {})
    if arrival.external is not None:
        ref = arrival.external
        held = ids.get(ref.system)
        if held is not None and held != ref.external_id:
            raise ExternalIdTaken(str(doc["id"]), ref.system)
        if held is None:
            out["external_ids"] = {**ids, ref.system: ref.external_id}
    sources = list(doc.get("sources") or [doc.get("source") or "manual"])
    if arrival.source not in sources:
        out["sources"] = [*sources, arrival.source]
    return Resolution(profile=out, field_times=times)
