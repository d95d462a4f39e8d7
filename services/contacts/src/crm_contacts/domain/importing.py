"""Planning an import batch: validate rows, then decide per row what to create, update or skip.

Pure and dict-based, because a million-row import runs through here: no model per row.
The service layer looks up existing contacts and suppressed hashes between the two phases.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crm_contacts.domain.contact import apply_profile, bump, new_contact
from crm_contacts.domain.contact_doc import ContactDoc, as_contact_doc, as_stored
from crm_contacts.domain.contact_policy import ContactPolicy
from crm_contacts.domain.errors import SUPPRESSED_DETAIL, InvalidFields
from crm_contacts.domain.import_warnings import (
    describe,
    identifies_someone,
    left_out,
    without_problems,
)
from crm_contacts.domain.matching.profile import EMAIL_KEY, PHONE_KEY
from crm_contacts.domain.resolution import (
    Arrival,
    ExternalIdTaken,
    ExternalRef,
    resolve_update,
    written_times,
)
from crm_contacts.domain.validation import validate_profile
from crm_shared.contact_fields import FIELDS_BY_NAME, IMPORTABLE_FIELDS
from crm_shared.events import ImportRow
from crm_shared.events.imports import DEFAULT_MATCH_ON, DuplicatePolicy, MatchIdentifier
from crm_shared.events.sources import EXTERNAL_ID_MAX, EXTERNAL_SYSTEM_PATTERN
from crm_shared.identity import PersonIdentifiers, person_hashes
from crm_shared.validation import is_clean_text, json_problem

# A list field reports one bad item per validation: a row is validated again after each drop,
# this many times at most (the list fields hold at most 10 items each).
_MAX_REPAIRS = 32
# The standard fields an import row carries (as text, or lists of text), from the shared table.
_ROW_TEXT_FIELDS = tuple(n for n in IMPORTABLE_FIELDS if FIELDS_BY_NAME[n].shape == "one")
_ROW_LIST_FIELDS = tuple(n for n in IMPORTABLE_FIELDS if FIELDS_BY_NAME[n].shape == "list")
_EXTERNAL_SYSTEM = re.compile(EXTERNAL_SYSTEM_PATTERN)


@dataclass(slots=True)
class PreparedRow:
    """A row after validation: its normalized profile, or why it failed."""

    row_number: int
    profile: dict[str, Any] | None
    error: str | None = None
    hashes: list[str] = field(default_factory=list)
    # Problems of cells that were left out while the row was imported without them.
    warnings: list[str] = field(default_factory=list)
    # The id another system knows the person by (also in `profile["external_ids"]`).
    external: ExternalRef | None = None


@dataclass
class BatchPlan:
    """What applying a batch writes, and what it reports."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    # Existing contacts the batch changed, by id (one new version each, however many rows).
    replacements: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)
    imported: list[dict[str, Any]] = field(default_factory=list)


def provided_fields(row: ImportRow) -> dict[str, Any]:
    """The profile fields a row really provides (blank CSV cells provide nothing)."""
    raw: dict[str, Any] = {}
    for name in _ROW_TEXT_FIELDS:
        value = getattr(row, name)
        if value is not None and value.strip():
            raw[name] = value
    for name in _ROW_LIST_FIELDS:
        if items := getattr(row, name):
            raw[name] = items
    if row.custom_fields:
        raw["custom_fields"] = row.custom_fields
    return raw


def external_ref(row: ImportRow) -> tuple[ExternalRef | None, list[str]]:
    """The row's id in another system, under the rules of the by-external-id upsert, and a
    warning per id left out (the row goes on without it)."""
    found: ExternalRef | None = None
    warnings: list[str] = []
    if not row.external_ids:
        return found, warnings  # most rows: no other system's id
    for system, external_id in row.external_ids.items():
        value = external_id.strip()
        if not value:
            continue
        if found is not None:
            warnings.append(left_out(f"external_ids.{system} is a second system's id"))
        elif not _EXTERNAL_SYSTEM.match(system):
            warnings.append(left_out(f"external_ids.{system} is not a system name"))
        elif len(value) > EXTERNAL_ID_MAX or not is_clean_text(value):
            rule = f"must be 1-{EXTERNAL_ID_MAX} characters of text"
            warnings.append(left_out(f"external_ids.{system} {rule}"))
        else:
            found = ExternalRef(system, value)
    return found, warnings


def _row_error(row_number: int, error: InvalidFields) -> str:
    return f"row {row_number}: " + "; ".join(describe(p) for p in error.problems)


def _validated(raw: dict[str, Any], region: str) -> tuple[dict[str, Any], list[str]]:
    """The row's valid profile and a warning per cell left out; InvalidFields (the first
    problems) when what is left identifies no one."""
    warnings: list[str] = []
    kept = raw
    for _ in range(_MAX_REPAIRS):
        try:
            return validate_profile(kept, region=region), warnings
        except InvalidFields as exc:
            remaining = without_problems(kept, exc.problems)
            if not identifies_someone(remaining) or remaining == kept:
                raise
            warnings += [left_out(describe(p)) for p in exc.problems]
            kept = remaining
    return validate_profile(kept, region=region), warnings


def prepare_rows(
    rows: Iterable[ImportRow], *, region: str, suppression_key: bytes
) -> list[PreparedRow]:
    """Validate every row with the API's rules and compute its suppression hashes.

    Invalid cells are left out with a warning when the rest still names or emails someone.
    """
    prepared: list[PreparedRow] = []
    for row in rows:
        number = row.row_number
        raw = provided_fields(row)
        try:
            profile, warnings = _validated(raw, region)
        except InvalidFields as exc:
            prepared.append(PreparedRow(number, None, _row_error(number, exc)))
            continue
        external, external_warnings = external_ref(row)
        if external is not None:
            profile["external_ids"] = {external.system: external.external_id}
        identifiers = PersonIdentifiers.of_contact(profile)
        hashes = person_hashes(suppression_key, identifiers, region=region)
        warnings += external_warnings
        prepared.append(
            PreparedRow(number, profile, hashes=hashes, warnings=warnings, external=external)
        )
    return prepared


@dataclass
class ExistingContacts:
    """Live contacts a batch may update or skip, by each of their emails, phones and external
    ids (the matching engine's `match_keys` of an external id, `x:<system>:<id>`).

    The oldest contact wins an identifier several hold. Rows created by the batch are added as
    it goes, so a later row with the same email or phone finds them.
    """

    by_email: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_phone: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_external: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The identifiers that decide who a row is, in order (the import's `match_on`).
    match_on: tuple[MatchIdentifier, ...] = DEFAULT_MATCH_ON

    def contacts(self) -> list[dict[str, Any]]:
        """Each contact once."""
        held = (*self.by_email.values(), *self.by_phone.values(), *self.by_external.values())
        docs = {d["id"]: d for d in held}
        return list(docs.values())

    def find(self, profile: Mapping[str, Any]) -> dict[str, Any] | None:
        """The contact holding the row's first `match_on` identifier that one holds (by default
        its email, else its phone)."""
        for identifier in self.match_on:
            for key in _keys(profile, identifier):
                found = self._index(identifier).get(key)
                if found is not None:
                    return found
        return None

    def _index(self, identifier: MatchIdentifier) -> dict[str, dict[str, Any]]:
        if identifier == "email":
            return self.by_email
        return self.by_phone if identifier == "phone" else self.by_external

    def note(self, doc: dict[str, Any], *, replace: bool) -> None:
        """Resolve the document's identifiers to it (`replace`: it is a newer version)."""
        for email in (doc.get("email"), *(doc.get("emails") or ())):
            if email and (replace or email not in self.by_email):
                self.by_email[email] = doc
        for phone in (doc.get("phone"), *(doc.get("phones") or ())):
            if phone and (replace or phone not in self.by_phone):
                self.by_phone[phone] = doc
        for key in _keys(doc, "external_id"):
            if replace or key not in self.by_external:
                self.by_external[key] = doc


def _keys(profile: Mapping[str, Any], identifier: MatchIdentifier) -> list[str]:
    """The profile's value for one `match_on` identifier: the email, the phone, or the match
    keys of its external ids."""
    if identifier == "external_id":
        ids = profile.get("external_ids") or {}
        return [ExternalRef(system, value).match_key for system, value in ids.items()]
    value = profile.get(identifier)
    return [value] if value else []


def match_keys(
    rows: Iterable[PreparedRow], match_on: Iterable[MatchIdentifier] = DEFAULT_MATCH_ON
) -> list[str]:
    """The matching engine's `match_keys` that `match_on` looks up for the valid rows (each
    once): `e:<email>`, `p:<phone>`, `x:<system>:<id>`."""
    prefixes: dict[MatchIdentifier, str] = {"email": EMAIL_KEY, "phone": PHONE_KEY}
    keys: dict[str, None] = {}
    for identifier in match_on:
        prefix = prefixes.get(identifier, "")
        if identifier != "external_id":  # one value a row (`_keys`), read without a list each
            keys.update(
                (prefix + value, None)
                for row in rows
                if row.profile and (value := row.profile.get(identifier))
            )
            continue
        for row in rows:
            if row.profile:
                keys.update((prefix + key, None) for key in _keys(row.profile, identifier))
    return list(keys)


def not_yet_found(
    rows: Iterable[PreparedRow], identifier: MatchIdentifier, found: Iterable[dict[str, Any]]
) -> list[PreparedRow]:
    """The valid rows whose `identifier` none of `found` holds, as `ExistingContacts.find` looks
    it up: only those can be decided by the next `match_on` identifier, so only their keys of it
    need looking up (a row matched by email never consults its phone)."""
    held = _held(found, identifier)
    return [
        row
        for row in rows
        if row.profile and not any(key in held for key in _keys(row.profile, identifier))
    ]


def _held(docs: Iterable[dict[str, Any]], identifier: MatchIdentifier) -> set[str]:
    """The values of one `match_on` identifier these contacts hold, as `ExistingContacts.note`
    indexes them (only that identifier's: a batch's holders are indexed whole once, later)."""
    if identifier == "external_id":
        return {key for doc in docs for key in _keys(doc, identifier)}
    many = "emails" if identifier == "email" else "phones"
    return {v for doc in docs for v in (doc.get(identifier), *(doc.get(many) or ())) if v}


def existing_by_identifiers(
    docs: Iterable[dict[str, Any]], match_on: Iterable[MatchIdentifier] = DEFAULT_MATCH_ON
) -> ExistingContacts:
    """Index live contacts (oldest first) by every email, phone and external id they hold."""
    existing = ExistingContacts(match_on=tuple(match_on) or DEFAULT_MATCH_ON)
    for doc in docs:
        existing.note(doc, replace=False)
    return existing


class _Planner:
    def __init__(
        self,
        *,
        tenant: str,
        policy: DuplicatePolicy,
        existing: ExistingContacts,
        now: str,
        new_id: Callable[[], str],
        rules: ContactPolicy | None = None,
        occurred_at: str | None = None,
        check_storable: bool = True,
    ) -> None:
        self.tenant = tenant
        self.check_storable = check_storable
        self.rules = rules
        self.policy = policy
        self.now = now
        # When the rows were written at their source (the upload): the last-writer rule's time.
        self.occurred_at = occurred_at or now
        self.new_id = new_id
        self.plan = BatchPlan()
        # The contact each email and phone resolves to, including ones created by this batch.
        self.existing = existing
        self.created: dict[str, ContactDoc] = {}
        self.replaced: dict[str, ContactDoc] = {}
        self.changed_fields: dict[str, dict[str, None]] = {}

    def result(
        self,
        row: PreparedRow,
        status: str,
        contact_id: str | None = None,
        *,
        suppressed: bool = False,
    ) -> None:
        outcome: dict[str, Any] = {
            "row_number": row.row_number,
            "status": status,
            "contact_id": contact_id,
            "error": row.error,
            "warnings": row.warnings,
        }
        if suppressed:
            outcome["suppressed"] = True
        self.plan.results.append(outcome)

    def checked(
        self,
        row: PreparedRow,
        profile: dict[str, Any],
        check: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> dict[str, Any] | None:
        """The row's profile checked against the tenant's rules, or None (row failed).

        Custom values the tenant's fields refuse are left out with a warning, once.
        """
        try:
            return check(profile)
        except InvalidFields as exc:
            kept = without_problems(profile, exc.problems)
            if kept != profile:
                try:
                    checked = check(kept)
                except InvalidFields:
                    pass
                else:
                    row.warnings += [left_out(describe(p)) for p in exc.problems]
                    return checked
            row.error = _row_error(row.row_number, exc)
            self.result(row, "failed")
            return None

    def storable(self, row: PreparedRow, doc: Mapping[str, Any]) -> bool:
        """False (the row failed, naming the field) when no store could hold `doc`."""
        # Defence in depth: validation bounds every value, but one unstorable document would
        # fail the write of the whole batch. A batch is planned without it first (a JSON round
        # trip per document, ~10 us) and again with it only if its write refused a document.
        if not self.check_storable:
            return True
        problem = json_problem(doc)
        if problem is None:
            return True
        row.error = f"row {row.row_number}: {problem} (cannot be stored)"
        self.result(row, "failed")
        return False

    def create(self, row: PreparedRow, profile: dict[str, Any]) -> None:
        if "name" not in profile:
            row.error = f"row {row.row_number}: name is required to create a contact"
            self.result(row, "failed")
            return
        rules = self.rules
        if rules is not None:
            checked = self.checked(
                row,
                profile,
                lambda p: rules.check_create(p, source="import", from_text=True),
            )
            if checked is None:
                return
            profile = checked
        doc = new_contact(
            contact_id=self.new_id(),
            tenant=self.tenant,
            profile=profile,
            source="import",
            now=self.now,
        )
        doc["field_times"] = written_times(profile, self.occurred_at)
        if rules is not None:
            rules.retag_new(doc)
        if not self.storable(row, doc):
            return
        self.created[doc["id"]] = doc
        self.changed_fields[doc["id"]] = dict.fromkeys(k for k in profile if k != "phone_raw")
        self.existing.note(as_stored(doc), replace=False)
        self.result(row, "created", doc["id"])

    def update(self, row: PreparedRow, target: ContactDoc, profile: dict[str, Any]) -> None:
        contact_id = target["id"]
        rules = self.rules
        if rules is not None:
            checked = self.checked(
                row,
                profile,
                lambda p: rules.check_update(p, target, merge_tags=True, from_text=True),
            )
            if checked is None:
                return
            profile = checked
        # The resolver's rule, as for every other source: the later write wins a field, an
        # older one only fills blanks, nothing is blanked, a new email or phone is added.
        arrival = Arrival(
            source="import", profile=profile, occurred_at=self.occurred_at, external=row.external
        )
        try:
            resolution = resolve_update(target, arrival)
        except ExternalIdTaken as exc:
            row.error = f"row {row.row_number}: {exc.detail}"
            self.result(row, "failed")
            return
        resolution.profile.pop("sources", None)  # recorded below, only when something changed
        updated, changes = apply_profile(target, resolution.profile, merge_tags_=True)
        if changes:
            updated["field_times"] = resolution.field_times
        if rules is not None:
            changes = rules.retag_changed(target, updated, changes)
        if not changes:
            self.result(row, "skipped", contact_id)
            return
        sources = list(target.get("sources") or [target.get("source") or "manual"])
        if "import" not in sources:
            # The import changed the person: the contact's sources record that it came by one.
            updated["sources"] = [*sources, "import"]
            changes["sources"] = (sources, updated["sources"])
        if not self.storable(row, updated):
            return
        if contact_id in self.created:
            self.created[contact_id] = updated
        else:
            self.replaced[contact_id] = updated
        self.existing.note(as_stored(updated), replace=True)
        self.changed_fields.setdefault(contact_id, {}).update(dict.fromkeys(changes))
        self.result(row, "updated", contact_id)

    def apply(self, row: PreparedRow, suppressed: set[str]) -> None:
        profile = row.profile
        if profile is None:
            self.result(row, "failed")
            return
        if suppressed and any(h in suppressed for h in row.hashes):
            row.error = f"row {row.row_number}: {SUPPRESSED_DETAIL}"
            self.result(row, "failed", suppressed=True)
            return
        found = self.existing.find(profile) if self.policy != "create" else None
        target = as_contact_doc(found) if found is not None else None
        if target is None:
            self.create(row, profile)
        elif self.policy == "skip":
            self.result(row, "skipped", target["id"])
        else:
            self.update(row, target, profile)

    def finish(self) -> BatchPlan:
        plan = self.plan
        plan.inserts = [as_stored(doc) for doc in self.created.values()]
        plan.replacements = {
            key: as_stored(bump(doc, self.now)) for key, doc in self.replaced.items()
        }
        for contact_id, fields in self.changed_fields.items():
            created = contact_id in self.created
            doc = self.created[contact_id] if created else self.replaced[contact_id]
            plan.imported.append(
                {
                    "contact_id": contact_id,
                    "version": doc["version"],
                    "action": "created" if created else "updated",
                    "changed_fields": list(fields),
                }
            )
        return plan


def plan_batch(
    rows: list[PreparedRow],
    *,
    tenant: str,
    policy: DuplicatePolicy,
    existing: ExistingContacts,
    suppressed: set[str],
    now: str,
    new_id: Callable[[], str],
    rules: ContactPolicy | None = None,
    occurred_at: str | None = None,
    check_storable: bool = True,
) -> BatchPlan:
    """Decide each row's fate under the duplicate policy; earlier rows of the batch count too.

    `rules` (the tenant's custom fields, tags and tag rules) type each row's custom values and
    tags; a row that breaks them fails with the reason while the others go on. An update follows
    the resolver's last-writer rule with the rows written at `occurred_at` (default: `now`).
    `check_storable` fails a row whose document no store could hold, naming the field.
    """
    planner = _Planner(
        tenant=tenant,
        policy=policy,
        existing=existing,
        now=now,
        new_id=new_id,
        rules=rules,
        occurred_at=occurred_at,
        check_storable=check_storable,
    )
    for row in rows:
        planner.apply(row, suppressed)
    return planner.finish()
