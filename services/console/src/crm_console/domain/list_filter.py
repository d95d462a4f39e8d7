"""The contact list's filters as the API's contact filter, for actions on "these contacts".

A bulk action on all matching contacts and an export of the listed contacts send the same
filter the list showed, built once here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from crm_console.domain.values import split_list, text_or_none
from crm_shared.filters import Source

# The list's filter fields, as its search form names them.
LIST_FILTERS = ("q", "tag", "owner", "source", "cf_key", "cf_value", "campaign", "consent")
SOURCE_NAMES: tuple[str, ...] = get_args(Source)


def contact_filter(values: Mapping[str, str]) -> dict[str, Any]:
    """The API's contact filter (JSON) for the list's filter fields; blanks are left out."""
    criteria: dict[str, Any] = {}
    for name in ("q", "owner", "campaign"):
        if value := text_or_none(values.get(name) or ""):
            criteria[name] = value
    if tags := split_list(values.get("tag") or ""):
        criteria["tag"] = tags
    # The consent filter goes along too: should the API not know it, it refuses the action
    # rather than acting on more contacts than the list showed.
    if consent := split_list(values.get("consent") or ""):
        criteria["consent"] = consent
    if (source := values.get("source") or "") in SOURCE_NAMES:
        criteria["source"] = source
    key, value = values.get("cf_key") or "", values.get("cf_value") or ""
    if key and value:
        criteria["custom"] = [{"key": key, "eq": value}]
    return criteria
