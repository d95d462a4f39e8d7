"""Previewing an upload: its layout, columns with suggestions, first rows as they would be sent."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm_importer.adapters.workbooks import WorkbookBudget
from crm_importer.domain.custom_columns import NewField
from crm_importer.domain.dialect import uses_decimal_comma
from crm_importer.domain.layout import FileLayout, LayoutChoice
from crm_importer.domain.mapping import ColumnMapping, ColumnPlan, plan_columns
from crm_importer.domain.row_problems import row_problems
from crm_importer.domain.rows import MappedRow, RowMapper, readable
from crm_importer.domain.suggestions import Suggestion, suggest
from crm_importer.service_layer.custom_columns import check_custom_columns
from crm_importer.service_layer.file_head import FileHead, read_head
from crm_importer.service_layer.imports import FieldDefinitions

PREVIEW_ROWS = 10
SAMPLES_PER_COLUMN = 5


@dataclass
class Preview:
    """What a preview answers."""

    layout: FileLayout
    header: list[str]
    samples: list[list[str]]
    suggestions: list[Suggestion | None]
    plan: ColumnPlan
    rows: list[dict[str, Any]]
    warnings: list[str]
    # Custom fields the mapping names that the tenant lacks: an upload refuses them, or creates
    # them (with these types) when it sends create_fields=true.
    undefined_fields: list[NewField]


def _preview_rows(head: FileHead, plan: ColumnPlan, region: str) -> list[dict[str, Any]]:
    mapper = RowMapper(plan, max_row_bytes=1 << 30)
    rows: list[dict[str, Any]] = []
    for number, cells in enumerate(head.rows[:PREVIEW_ROWS], start=1):
        outcome = mapper.map(number, cells)
        if isinstance(outcome, MappedRow):
            values = outcome.row.model_dump(exclude_defaults=True, exclude={"row_number"})
            rows.append(
                {
                    "row_number": number,
                    "values": values,
                    "problems": row_problems(values, region=region),
                }
            )
        elif outcome is not None:
            rows.append({"row_number": number, "values": {}, "problems": [outcome.reason]})
    return rows


async def preview_upload(
    path: Path,
    *,
    choice: LayoutChoice,
    mapping: ColumnMapping | None,
    region: str,
    budget: WorkbookBudget | None = None,
    definitions: FieldDefinitions | None = None,
) -> Preview:
    """Read the head of the file at `path` and show how it would be imported; given
    `definitions`, which custom fields its mapping names that the tenant lacks."""
    head = await read_head(path, choice, budget or WorkbookBudget())
    samples = head.samples()
    plan = plan_columns(head.header, mapping, samples)
    plan = plan.model_copy(update={"decimal_comma": uses_decimal_comma(head.layout.delimiter)})
    warnings = list(head.warnings)
    undefined: list[NewField] = []
    if definitions is not None:
        check = await check_custom_columns(
            plan, samples, definitions.contacts, authorization=definitions.authorization
        )
        plan, undefined = check.plan, check.undefined
        if check.unchecked is not None:
            warnings.append(f"the custom fields could not be checked: {check.unchecked}")
    return Preview(
        layout=head.layout,
        header=[readable(h) for h in head.header],
        samples=[[readable(c) for c in column[:SAMPLES_PER_COLUMN]] for column in samples],
        suggestions=suggest(head.header, samples),
        plan=plan,
        rows=_preview_rows(head, plan, region),
        warnings=warnings,
        undefined_fields=undefined,
    )
