"""The tenant's rules every contact write obeys: typed custom fields, tag kinds, tag rules.

One ContactPolicy is loaded per transaction (per API write, per import batch) and applied to each
contact in memory, so a batch of a thousand rows costs the same few queries as one contact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crm_contacts.domain.contact import Changes, refresh_tags_derived
from crm_contacts.domain.contact_doc import AnyContactDoc
from crm_contacts.domain.custom_fields import FieldDefinition, validate_custom_values
from crm_contacts.domain.tag_rules import CompiledRule, TagRule, compile_rules, final_tags
from crm_contacts.domain.tags import (
    TagBook,
    resolve_requested_tags,
    system_tags_for,
    with_system_tags,
)


@dataclass
class ContactPolicy:
    """Custom field definitions, tag rules and the tags a write touches, of one tenant."""

    definitions: Mapping[str, FieldDefinition] = field(default_factory=dict)
    rules: Sequence[TagRule] = ()
    book: TagBook = field(default_factory=TagBook)

    def check_create(
        self, profile: Mapping[str, Any], *, source: str, from_text: bool = False
    ) -> dict[str, Any]:
        """A new contact's validated profile with typed custom values and permitted tags."""
        checked = dict(profile)
        values = validate_custom_values(
            profile.get("custom_fields") or {}, self.definitions, from_text=from_text
        )
        if values or "custom_fields" in profile:
            checked["custom_fields"] = values
        checked["tags"] = self._new_contact_tags(
            tuple(profile.get("tags") or ()), source=source, from_text=from_text
        )
        return checked

    def _new_contact_tags(
        self, requested: tuple[str, ...], *, source: str, from_text: bool
    ) -> list[str]:
        # Import rows repeat the same few tag lists. The answer depends only on the arguments and
        # on the book's entries for these names, which never change once set, so it is memoized.
        key = (requested, source, from_text)
        tags = self._create_tags.get(key)
        if tags is None:
            tags = self._resolve_new_contact_tags(list(requested), source, from_text)
            self._create_tags[key] = tags
        return list(tags)

    def _resolve_new_contact_tags(
        self, requested: list[str], source: str, from_text: bool
    ) -> list[str]:
        platform = system_tags_for({"source": source})
        if requested:
            requested = resolve_requested_tags(
                requested,
                current=[],
                platform=platform,
                book=self.book,
                merge=True,
                skip_managed=from_text,
            )
        # The system tags go in before the document is built, so it is derived once.
        return with_system_tags(requested, {"source": source}, self.book)

    def check_update(
        self,
        profile: Mapping[str, Any],
        contact: Mapping[str, Any],
        *,
        merge_tags: bool = False,
        from_text: bool = False,
        raw_custom_fields_cleared: bool = False,
    ) -> dict[str, Any]:
        """A partial profile for `contact`, custom values typed and tag changes permitted.

        `raw_custom_fields_cleared` says the client sent `custom_fields: null` (clear them all),
        which validate_profile turned into an empty object.
        """
        checked = dict(profile)
        if "custom_fields" in profile:
            stored = contact.get("custom_fields") or {}
            values = profile["custom_fields"]
            if not values and raw_custom_fields_cleared:
                values = dict.fromkeys(stored)  # null clears them all: each one is cleared
            checked["custom_fields"] = validate_custom_values(
                values,
                self.definitions,
                existing=stored,
                from_text=from_text,
            )
        if "tags" in profile:
            checked["tags"] = resolve_requested_tags(
                profile["tags"] or [],
                current=list(contact.get("tags") or ()),
                platform=system_tags_for(contact),
                book=self.book,
                merge=merge_tags,
                skip_managed=from_text,
            )
        return checked

    _compiled: list[CompiledRule] | None = field(default=None, repr=False)
    # Memos of tag answers that depend only on their arguments (see the methods using them).
    _create_tags: dict[tuple[tuple[str, ...], str, bool], list[str]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _plain_tags: dict[tuple[tuple[str, ...], str], list[str]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def compiled_rules(self) -> list[CompiledRule]:
        """The rules' filters translated once, for evaluating them on many contacts."""
        if self._compiled is None:
            self._compiled = compile_rules(self.rules, self.definitions)
        return self._compiled

    def with_definition(self, definition: FieldDefinition) -> ContactPolicy:
        """The same policy with one definition added or replaced."""
        definitions = {**self.definitions, definition.key: definition}
        return ContactPolicy(definitions=definitions, rules=self.rules, book=self.book)

    def tags_for(self, contact: Mapping[str, Any]) -> list[str]:
        """The contact's final tags: with its system tags and the auto tags the rules give."""
        rules = self.compiled_rules()
        if rules:
            return final_tags(contact, book=self.book, rules=rules)
        # Without rules the answer depends only on the tags and the source (system tags), and
        # the book's entries for them never change once set: memoized for imports.
        key = (tuple(contact.get("tags") or ()), contact.get("source") or "manual")
        tags = self._plain_tags.get(key)
        if tags is None:
            tags = final_tags(contact, book=self.book, rules=rules)
            self._plain_tags[key] = tags
        return list(tags)

    def retag_new(self, doc: AnyContactDoc) -> AnyContactDoc:
        """A new contact with its system tags and the auto tags the rules give it."""
        tags = self.tags_for(doc)
        if tags != doc["tags"]:
            doc["tags"] = tags
            refresh_tags_derived(doc)  # no other derived field reads the tags
        return doc

    def retag_changed(
        self, before: Mapping[str, Any], updated: AnyContactDoc, changes: Changes
    ) -> Changes:
        """After a change: re-apply system and auto tags; `changes` reports tags if they moved."""
        if not changes:
            return changes
        tags = self.tags_for(updated)
        if tags != updated["tags"]:
            # Every caller applied the change with apply_profile, which derived the rest already.
            updated["tags"] = tags
            refresh_tags_derived(updated)
        old = list(before.get("tags") or ())
        if updated["tags"] != old:
            changes["tags"] = (old, updated["tags"])
        else:
            changes.pop("tags", None)
        return changes
