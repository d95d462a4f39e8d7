"""What each kind of rewrite job does to one contact, and which contacts it looks at.

A plan is built inside each batch's transaction from the job's parameters and the tenant's
current policy, so every batch applies the definitions as they stand when it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crm_contacts.adapters.contact_pages import NOT_ERASED, carrying, holding
from crm_contacts.adapters.custom_fields import definition_from_doc
from crm_contacts.domain.custom_fields import FieldDefinition, InvalidValue
from crm_contacts.domain.field_conversions import conversion_problem, convert_stored
from crm_contacts.domain.rewrite_jobs import CannotRewrite
from crm_contacts.domain.tags import replace_tag
from crm_contacts.service_layer.contact_policy import load_policy
from crm_shared.storage import Session, Where

# The fields to set on one contact (only those that change), or None for no change; raises
# CannotRewrite for a contact the change does not fit.
Transform = Callable[[dict[str, Any]], dict[str, Any] | None]


@dataclass(frozen=True)
class RewritePlan:
    """The contacts a job looks at, and what it does to each."""

    where: Sequence[Where]
    transform: Transform


async def _tag_rename(session: Session, tenant: str, params: Mapping[str, Any]) -> RewritePlan:
    old, new = params["old"], params["new"]
    policy = await load_policy(session, tenant, tag_names=[new])

    def rename(doc: dict[str, Any]) -> dict[str, Any]:
        renamed = replace_tag(list(doc.get("tags") or ()), old, new)
        # Rules filtering on the tag follow it under its new name: a write made before the job
        # reached this contact may have dropped an auto tag the renamed tag gives back.
        return {"tags": policy.tags_for({**doc, "tags": renamed})}

    return RewritePlan(where=carrying(old), transform=rename)


async def _tag_delete(session: Session, tenant: str, params: Mapping[str, Any]) -> RewritePlan:
    name = params["name"]

    def remove(doc: dict[str, Any]) -> dict[str, Any]:
        return {"tags": replace_tag(list(doc.get("tags") or ()), name, None)}

    return RewritePlan(where=carrying(name), transform=remove)


async def _tag_rules(session: Session, tenant: str, params: Mapping[str, Any]) -> RewritePlan:
    policy = await load_policy(session, tenant)
    return RewritePlan(where=NOT_ERASED, transform=lambda doc: {"tags": policy.tags_for(doc)})


def _definition(attributes: Mapping[str, Any] | None) -> FieldDefinition | None:
    return None if attributes is None else definition_from_doc(dict(attributes))


async def _field_change(session: Session, tenant: str, params: Mapping[str, Any]) -> RewritePlan:
    key = params["key"]
    old = _definition(params["old"])
    new = _definition(params["new"])
    assert new is not None
    policy = await load_policy(session, tenant)
    filters_on_key = any(c.key == key for r in policy.rules for c in r.filter.custom)

    def convert(doc: dict[str, Any]) -> dict[str, Any] | None:
        values = doc.get("custom_fields") or {}
        if key not in values:
            return None
        try:
            converted = convert_stored(values[key], old, new)
        except InvalidValue:
            raise CannotRewrite(conversion_problem(key, old, new)) from None
        rest = {k: v for k, v in values.items() if k != key}
        fields: dict[str, Any] = {
            "custom_fields": rest if converted is None else {**rest, key: converted}
        }
        if filters_on_key:  # the rule outcome may differ on the converted value
            fields["tags"] = policy.tags_for({**doc, **fields})
        return fields

    return RewritePlan(where=holding(key), transform=convert)


async def _field_purge(session: Session, tenant: str, params: Mapping[str, Any]) -> RewritePlan:
    key = params["key"]

    def purge(doc: dict[str, Any]) -> dict[str, Any] | None:
        values = doc.get("custom_fields") or {}
        if key not in values:
            return None
        return {"custom_fields": {k: v for k, v in values.items() if k != key}}

    return RewritePlan(where=holding(key), transform=purge)


_PLANS = {
    "tag_rename": _tag_rename,
    "tag_delete": _tag_delete,
    "tag_rules": _tag_rules,
    "field_change": _field_change,
    "field_purge": _field_purge,
}


async def plan_for(session: Session, job: Mapping[str, Any]) -> RewritePlan:
    """The plan of `job`, with the tenant's policy as it stands in this transaction."""
    return await _PLANS[job["kind"]](session, job["tenant"], job["params"])
