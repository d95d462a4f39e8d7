"""Tags: manual, auto (from tag rules) and system (set by the platform), unique by folded name.

System tags are a small fixed set, derived from how a contact came to be:
- `source:<source>` on every contact (`source:manual`, `source:chat`, `source:form`,
  `source:integration`, `source:import`), following the contact's source;
- `imported` on contacts an import created.
Names starting with `source:` and the name `imported` are reserved for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from crm_contacts.domain.errors import FieldProblem, InvalidFields
from crm_contacts.domain.text import fold

TagKind = Literal["manual", "auto", "system"]
TAG_KINDS: tuple[TagKind, ...] = ("manual", "auto", "system")
TAG_GROUP_MAX = 50
SOURCE_PREFIX = "source:"
IMPORTED = "imported"
SYSTEM_GROUP = "Source"


@dataclass(frozen=True)
class TagInfo:
    """What a write needs to know about a tag: its canonical spelling and kind."""

    name: str
    kind: TagKind
    group: str | None = None


def is_reserved(name: str) -> bool:
    """True for names only the platform may give (system tags)."""
    folded = fold(name)
    return folded == IMPORTED or folded.startswith(SOURCE_PREFIX)


def system_tags_for(doc: Mapping[str, Any]) -> list[str]:
    """The system tags the platform gives a contact, from its source."""
    source = doc.get("source") or "manual"
    tags = [f"{SOURCE_PREFIX}{source}"]
    if source == "import":
        tags.append(IMPORTED)
    return tags


class TagBook:
    """The tenant's tags a write touches, by folded name; unknown ones are created on first use."""

    def __init__(self, known: Iterable[TagInfo] = ()) -> None:
        self._by_fold: dict[str, TagInfo] = {fold(tag.name): tag for tag in known}
        self.created: dict[str, TagInfo] = {}

    def get(self, name: str) -> TagInfo | None:
        """The tag with this name ignoring case and accents, if known."""
        return self._by_fold.get(fold(name))

    def kind(self, name: str) -> TagKind:
        """The tag's kind; unknown names are manual unless reserved for the platform."""
        tag = self.get(name)
        if tag is not None:
            return tag.kind
        return "system" if is_reserved(name) else "manual"

    def use(self, name: str, kind: TagKind = "manual") -> str:
        """The canonical spelling of `name`, registering it (as `kind`) if it is new."""
        folded = fold(name)
        tag = self._by_fold.get(folded)
        if tag is None:
            group = SYSTEM_GROUP if kind == "system" else None
            tag = TagInfo(name=name, kind=kind, group=group)
            self._by_fold[folded] = tag
            self.created[folded] = tag
        return tag.name


def _kind_problem(name: str, kind: TagKind, verb: str) -> FieldProblem:
    if kind == "system":
        reason = f"'{name}' is a system tag set by the platform; cannot {verb} it"
        return FieldProblem("tags", reason)
    return FieldProblem("tags", f"'{name}' is an auto tag set by tag rules; cannot {verb} it")


def resolve_requested_tags(
    requested: list[str],
    *,
    current: list[str],
    platform: list[str],
    book: TagBook,
    merge: bool = False,
    skip_managed: bool = False,
) -> list[str]:
    """The tags a write asks for, checked against kinds and spelled canonically.

    Users manage manual tags only. Naming a system or auto tag the contact does not carry
    (`current`, or `platform`: the system tags the platform gives it anyway) is refused; so is
    leaving out a system tag it carries (a replace, not a `merge`). Leaving out an auto tag
    changes nothing: the tag rules decide those. Unknown names become manual tags on first use.
    `skip_managed` (imports) leaves system and auto tags a row names to the platform and the
    rules instead of refusing the row, so an exported file imports again.
    """
    carried = {fold(tag) for tag in (*current, *platform)}
    asked = {fold(tag) for tag in requested}
    problems: list[FieldProblem] = []
    kept: list[tuple[str, TagKind]] = []
    for name in requested:
        kind = book.kind(name)
        if kind != "manual" and fold(name) not in carried:
            if not skip_managed:
                problems.append(_kind_problem(name, kind, "add"))
            continue
        if kind != "auto":  # auto tags: the rules keep or drop them
            kept.append((name, kind))
    if not merge:
        problems.extend(
            _kind_problem(name, "system", "remove")
            for name in current
            if book.kind(name) == "system" and fold(name) not in asked
        )
    if problems:
        raise InvalidFields(problems)
    # System tags are spelled the platform's way (lower case), however they were sent.
    return [
        book.use(name) if kind == "manual" else book.use(fold(name), kind) for name, kind in kept
    ]


def with_system_tags(tags: list[str], doc: Mapping[str, Any], book: TagBook) -> list[str]:
    """`tags` plus the platform's system tags for `doc` (a stale `source:` tag is replaced)."""
    wanted = [book.use(tag, "system") for tag in system_tags_for(doc)]
    wanted_folded = {fold(tag) for tag in wanted}
    kept: list[str] = []
    present: set[str] = set()
    for tag in tags:  # one pass: this runs for every row of an import
        folded = fold(tag)
        stale = folded.startswith(SOURCE_PREFIX) and folded not in wanted_folded
        if stale and book.kind(tag) == "system":
            continue
        kept.append(tag)
        present.add(folded)
    kept.extend(tag for tag in wanted if fold(tag) not in present)
    return kept


def replace_tag(tags: list[str], old: str, new: str | None) -> list[str]:
    """`tags` with `old` (folded match) renamed to `new`, or removed when `new` is None."""
    target = fold(old)
    seen: set[str] = set()
    result: list[str] = []
    for tag in tags:
        name = tag if fold(tag) != target else new
        if name is not None and fold(name) not in seen:
            seen.add(fold(name))
            result.append(name)
    return result


def edited_tags(current: list[str], add: list[str], remove: list[str]) -> list[str]:
    """`current` without the `remove` names and with the `add` names not yet there (folded)."""
    dropped = {fold(tag) for tag in remove}
    kept = [tag for tag in current if fold(tag) not in dropped]
    present = {fold(tag) for tag in kept}
    for tag in add:
        if fold(tag) not in present and fold(tag) not in dropped:
            present.add(fold(tag))
            kept.append(tag)
    return kept
