"""The typed contact filter, defined once: listing, search, exports, tag rules and bulk actions.

It travels as query parameters (`GET /v1/contacts?...`) or as a JSON body (`POST
/v1/contacts/search`, exports, tag rules). Services translate it into typed storage conditions;
nothing in it is ever passed to a database as a query document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from crm_shared.consent import SELECTOR_PATTERN, ConsentSelector, parse_selector
from crm_shared.rules import CUSTOM_FIELD_KEY_BODY, CUSTOM_FIELD_KEY_PATTERN
from crm_shared.validation import (
    CLEAN_TEXT,
    Flag,
    LenientMoment,
    Text,
    check_int64,
    check_text,
    query_flag,
)

Source = Literal["chat", "manual", "import", "integration", "form"]
# At most this many ids in one filter (`ids`): bulk actions and exports of a selection.
MAX_FILTER_IDS = 10_000
SortKey = Literal["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at"]
_CF_PARAM = re.compile(rf"cf\.(?P<key>{CUSTOM_FIELD_KEY_BODY})(?:\.(?P<op>gte|lte|contains))?")


def _storable_scalar(value: str | int | float | bool) -> str | int | float | bool:
    # An integer beyond 64 bits would otherwise be read as a float, or fail at the store.
    if isinstance(value, str):
        return check_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return check_int64(value)
    return value


Scalar = Annotated[str | int | float | Flag, AfterValidator(_storable_scalar)]


class InvalidFilter(ValueError):
    """A filter that cannot be understood; the message names the parameter and the rule."""


class CustomFieldCondition(BaseModel):
    """A condition on one custom field: equality, a range, or multi-select membership."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=CUSTOM_FIELD_KEY_PATTERN)
    eq: Scalar | None = None
    gte: Scalar | None = None
    lte: Scalar | None = None
    contains: Text | None = None

    def is_empty(self) -> bool:
        """True when no operator is set."""
        return self.eq is None and self.gte is None and self.lte is None and self.contains is None


def _as_list(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    return value


_LIST_FIELDS = ("tag", "tag_any", "tag_none", "ids", "consent")
# `consent=marketing:email` (granted now) or `consent=!marketing:email` (not granted), repeatable.
ConsentText = Annotated[str, Field(pattern=SELECTOR_PATTERN, max_length=80)]


def _document_single_strings(schema: dict[str, Any]) -> None:
    # `_as_list` accepts one string for a list: the schema says so, or clients (and schemathesis)
    # would read `"ids": "a"` as invalid input that the API nonetheless accepts.
    for name in _LIST_FIELDS:
        listed = schema["properties"][name]
        one = {key: value for key, value in listed["items"].items() if key != "title"}
        schema["properties"][name] = {
            "anyOf": [{k: v for k, v in listed.items() if k not in ("title", "default")}, one],
            "title": listed.get("title", name),
        }


class ContactFilter(BaseModel):
    """Which contacts: text, tags, owner, source, time ranges, custom fields, deleted or not."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_extra=_document_single_strings
    )

    q: Annotated[str, Field(max_length=200), CLEAN_TEXT] | None = None
    # Contacts holding this address, as primary or additional email (an exact look-up).
    email: Annotated[str, Field(max_length=320), CLEAN_TEXT] | None = None
    # All of these tags (`tag` is repeatable in a query string; a single string is accepted).
    tag: list[Text] = Field(default_factory=list, max_length=20)
    tag_any: list[Text] = Field(default_factory=list, max_length=20)
    tag_none: list[Text] = Field(default_factory=list, max_length=20)
    owner: Annotated[str, Field(max_length=200), CLEAN_TEXT] | None = None
    source: Source | None = None
    # A moment without an offset (`2026-01-31` or `2026-01-31T09:00`) is read as UTC.
    created_after: LenientMoment | None = None
    created_before: LenientMoment | None = None
    updated_after: LenientMoment | None = None
    updated_before: LenientMoment | None = None
    deleted: Flag = False
    custom: list[CustomFieldCondition] = Field(default_factory=list, max_length=20)
    # Members of this campaign (a campaign id, see /v1/campaigns).
    campaign: str | None = Field(default=None, max_length=100)
    # Contacts an import created or changed (an import id, see the importer's /v1/imports).
    import_id: str | None = Field(default=None, max_length=100)
    # Only these contacts (exact ids): a selection handed over by a bulk action, e.g. an export.
    ids: list[str] = Field(default_factory=list, max_length=MAX_FILTER_IDS)
    # Consent now, per purpose and channel (crm_shared.consent): every selector must hold.
    consent: list[ConsentText] = Field(default_factory=list, max_length=20)

    _listify = field_validator(*_LIST_FIELDS, mode="before")(_as_list)

    def consent_selectors(self) -> list[ConsentSelector]:
        """The `consent` values, parsed (the pattern has checked them)."""
        return [parse_selector(text) for text in dict.fromkeys(self.consent)]

    def query_params(self) -> list[tuple[str, str]]:
        """The filter as `GET /v1/contacts` query parameters (repeatable ones repeated)."""
        params: list[tuple[str, str]] = []
        for name in ("q", "email", "owner", "source", "campaign", "import_id"):
            value = getattr(self, name)
            if value:
                params.append((name, str(value)))
        for name in ("tag", "tag_any", "tag_none", "ids", "consent"):
            params.extend((name, tag) for tag in getattr(self, name))
        for name in ("created_after", "created_before", "updated_after", "updated_before"):
            moment = getattr(self, name)
            if moment is not None:
                params.append((name, moment.isoformat()))
        if self.deleted:
            params.append(("deleted", "true"))
        for cond in self.custom:
            for op in ("eq", "gte", "lte", "contains"):
                value = getattr(cond, op)
                if value is not None:
                    name = f"cf.{cond.key}" if op == "eq" else f"cf.{cond.key}.{op}"
                    params.append((name, _param_text(value)))
        return params

    @classmethod
    def from_query_params(cls, items: Iterable[tuple[str, str]]) -> ContactFilter:
        """Build a filter from query parameters; unknown or malformed ones raise InvalidFilter.

        Parameters that are not part of the filter (`limit`, `cursor`, `sort`) are skipped.
        Custom-field values stay text here; the service types them with the field definitions.
        """
        data: dict[str, Any] = {}
        custom: dict[str, dict[str, str]] = {}
        for name, value in items:
            if name in NON_FILTER_PARAMS:
                continue
            if name in _LIST_FIELDS:
                data.setdefault(name, []).append(value)
            elif name == "deleted":
                data[name] = _query_flag(name, value)
            elif name in _SINGLE_PARAMS:
                data[name] = value
            elif match := _CF_PARAM.fullmatch(name):  # `$` would let a trailing newline in
                custom.setdefault(match["key"], {})[match["op"] or "eq"] = value
            else:
                raise InvalidFilter(f"unknown filter parameter {name!r}")
        if custom:
            data["custom"] = [{"key": key, **ops} for key, ops in custom.items()]
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise InvalidFilter(f"filter parameter {where}: {first['msg']}") from exc


NON_FILTER_PARAMS = frozenset({"limit", "cursor", "sort", "include_deleted"})
_SINGLE_PARAMS = frozenset(
    {
        "q",
        "email",
        "owner",
        "source",
        "created_after",
        "created_before",
        "updated_after",
        "updated_before",
        "deleted",
        "campaign",
        "import_id",
    }
)


def _query_flag(name: str, text: str) -> bool:
    try:
        return query_flag(text)
    except ValueError as exc:
        raise InvalidFilter(f"filter parameter {name}: {exc}") from None


def _param_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
