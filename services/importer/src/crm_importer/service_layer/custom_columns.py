"""Columns mapped to custom fields, checked against the tenant's definitions at upload and
shown at preview.

The definitions are read from the contacts API with the uploader's key: a column mapped to an
undefined field is refused up front (422 naming it), or, with `create_fields=true`, the field is
defined first with the type the mapping gave it (`custom.<key>:<type>`) or one inferred from
the column's sample cells. The number fields learnt
here are the only cells whose decimal commas are rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_importer.adapters.contacts_client import ContactsClient, ContactsUnavailable
from crm_importer.domain.custom_columns import (
    CustomColumn,
    NewField,
    custom_columns,
    field_label,
    new_fields,
    refuse_undefined,
    undefined_columns,
)
from crm_importer.domain.mapping import ColumnPlan
from crm_shared.problems import Forbidden, ProblemError, Unprocessable


class DefinitionsUnavailable(ProblemError):
    """The tenant's custom fields could not be read: the upload cannot be checked."""

    status = 503
    title = "Service Unavailable"


async def _defined_types(contacts: ContactsClient, authorization: str) -> dict[str, str]:
    """The tenant's custom fields, key -> type; 503 when they cannot be read."""
    try:
        return await contacts.custom_field_types(authorization=authorization)
    except ContactsUnavailable as exc:
        raise DefinitionsUnavailable(
            f"the custom fields this file maps to cannot be checked: {exc}; try again"
        ) from exc


def _with_number_fields(
    plan: ColumnPlan, columns: list[CustomColumn], types: dict[str, str]
) -> ColumnPlan:
    numbers = sorted({c.key for c in columns if types.get(c.key) == "number"})
    return plan.model_copy(update={"number_fields": numbers})


async def type_custom_columns(
    plan: ColumnPlan,
    samples: list[list[str]],
    contacts: ContactsClient,
    *,
    authorization: str,
    create_fields: bool,
    dry_run: bool,
) -> ColumnPlan:
    """The plan with its number fields known; 422 for undefined fields unless `create_fields`
    (a dry run infers their types but creates nothing)."""
    columns = custom_columns(plan)
    if not columns:
        return plan
    types = await _defined_types(contacts, authorization)
    missing = undefined_columns(columns, types)
    if missing and not create_fields:
        raise refuse_undefined(missing)
    for new in new_fields(missing, plan, samples):
        if not dry_run:
            try:
                await _create(contacts, new, authorization)
            except ContactsUnavailable as exc:
                raise DefinitionsUnavailable(
                    f"custom field '{new.column.key}' could not be created: {exc}; try again"
                ) from exc
        types[new.column.key] = new.field_type
    return _with_number_fields(plan, columns, types)


@dataclass(frozen=True)
class CustomColumnsCheck:
    """What a preview says about the custom fields its mapping names."""

    plan: ColumnPlan
    # Undefined fields an upload would refuse, or create with `create_fields=true`.
    undefined: list[NewField]
    # The definitions could not be read: nothing was checked.
    unchecked: str | None = None


async def check_custom_columns(
    plan: ColumnPlan, samples: list[list[str]], contacts: ContactsClient, *, authorization: str
) -> CustomColumnsCheck:
    """The custom fields a preview's mapping names that the tenant lacks, each with the type an
    upload with `create_fields=true` would define it with; creates nothing."""
    columns = custom_columns(plan)
    if not columns:
        return CustomColumnsCheck(plan, [])
    try:
        types = await contacts.custom_field_types(authorization=authorization)
    except ContactsUnavailable as exc:
        return CustomColumnsCheck(plan, [], unchecked=str(exc))
    undefined = new_fields(undefined_columns(columns, types), plan, samples)
    types.update((new.column.key, new.field_type) for new in undefined)
    return CustomColumnsCheck(_with_number_fields(plan, columns, types), undefined)


async def _create(contacts: ContactsClient, new: NewField, authorization: str) -> None:
    key = new.column.key
    status = await contacts.create_custom_field(
        key=key,
        label=field_label(new.column.header),
        field_type=new.field_type,
        authorization=authorization,
    )
    # 202: defined, contacts already held values under the key (a job types them); 409: meanwhile
    if status in (201, 202, 409):
        return
    if status == 403:
        raise Forbidden(
            f"create_fields=true would define custom field '{key}', which needs the admin role; "
            "ask an admin to define it, or upload with an admin key",
            extra={"field": "create_fields", "custom_field": key},
        )
    raise Unprocessable(
        f"custom field '{key}' could not be created (the contacts service answered {status})",
        extra={"field": "create_fields", "custom_field": key},
    )
