"""Columns mapped to custom fields, checked against the tenant's definitions at upload.

The definitions are read from the contacts API with the uploader's key: a column mapped to an
undefined field is refused up front (422 naming it), or, with `create_fields=true`, the field is
defined first with the type the mapping gave it (`custom.<key>:<type>`) or one inferred from
the column's sample cells. The number fields learnt
here are the only cells whose decimal commas are rewritten.
"""

from __future__ import annotations

from crm_importer.adapters.contacts_client import ContactsClient, ContactsUnavailable
from crm_importer.domain.custom_columns import (
    custom_columns,
    field_label,
    inferred_type,
    refuse_undefined,
    undefined_columns,
)
from crm_importer.domain.mapping import ColumnPlan
from crm_shared.problems import Forbidden, ProblemError, Unprocessable


class DefinitionsUnavailable(ProblemError):
    """The tenant's custom fields could not be read: the upload cannot be checked."""

    status = 503
    title = "Service Unavailable"


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
    try:
        types = await contacts.custom_field_types(authorization=authorization)
        missing = undefined_columns(columns, types)
        if missing and not create_fields:
            raise refuse_undefined(missing)
        for column in missing:
            if column.key in types:
                continue  # two columns feed the same new field
            field_type = plan.declared_types.get(column.key) or inferred_type(
                samples[column.index], decimal_comma=plan.decimal_comma
            )
            if not dry_run:
                await _create(contacts, column.key, column.header, field_type, authorization)
            types[column.key] = field_type
    except ContactsUnavailable as exc:
        raise DefinitionsUnavailable(
            f"the custom fields this file maps to cannot be checked: {exc}; try again"
        ) from exc
    numbers = sorted({c.key for c in columns if types.get(c.key) == "number"})
    return plan.model_copy(update={"number_fields": numbers})


async def _create(
    contacts: ContactsClient, key: str, header: str, field_type: str, authorization: str
) -> None:
    status = await contacts.create_custom_field(
        key=key, label=field_label(header), field_type=field_type, authorization=authorization
    )
    if status in (201, 409):  # 409: defined meanwhile
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
