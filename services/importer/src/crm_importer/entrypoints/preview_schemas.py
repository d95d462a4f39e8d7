"""The body of `POST /v1/imports/preview`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from crm_importer.domain.custom_columns import NewField
from crm_importer.domain.layout import FileFormat
from crm_importer.service_layer.file_head import describe_delimiter
from crm_importer.service_layer.preview import Preview


class SuggestedField(BaseModel):
    """The field a column probably holds, and how sure the guess is."""

    field: str
    confidence: float = Field(ge=0, le=1)


class PreviewColumn(BaseModel):
    """One column: its header, first cells and suggested field."""

    index: int
    header: str
    samples: list[str]
    suggested: SuggestedField | None
    mapped_to: str | None = Field(
        description="The field an import with the same form fields would map it to."
    )


class PreviewRow(BaseModel):
    """A data row as it would be sent to the contacts service, and what is wrong with it."""

    row_number: int
    values: dict[str, Any]
    problems: list[str]


class MappingProblem(BaseModel):
    """A column the mapping sends to a custom field the tenant has not defined."""

    column: str
    field: str = Field(description="The undefined field, `custom.<key>`.")
    problem: Literal["undefined_custom_field"] = "undefined_custom_field"
    type: str = Field(
        description="The type an upload with create_fields=true defines it with (as the mapping "
        "says, `custom.<key>:<type>`, else inferred from the column's values)."
    )
    created_on_upload: bool = Field(
        description="true: the request sent create_fields=true, so an upload with the same form "
        "fields creates the field (admin role); false: an upload is refused with a 422."
    )
    message: str


class ImportPreview(BaseModel):
    """How the file would be read and mapped; nothing is stored."""

    format: FileFormat
    encoding: str
    delimiter: str | None
    header_row: int = Field(description="1-based row of the header (rows above it are skipped).")
    sheet: str | None
    sheets: list[str]
    columns: list[PreviewColumn]
    rows: list[PreviewRow]
    warnings: list[str]
    mapping_problems: list[MappingProblem] = Field(
        description="Columns mapped to custom fields the tenant lacks, so a wizard can offer to "
        "create them (create_fields=true) or map them elsewhere."
    )

    @classmethod
    def of(cls, preview: Preview, *, create_fields: bool = False) -> ImportPreview:
        """The public view of a preview."""
        layout = preview.layout
        mapped = {c.index: c.field for c in preview.plan.columns}
        return cls(
            format=layout.format,
            encoding=layout.encoding.removesuffix("-sig") if not layout.is_workbook else "",
            delimiter=None if layout.is_workbook else describe_delimiter(layout.delimiter),
            header_row=layout.header_row,
            sheet=layout.sheet,
            sheets=layout.sheets,
            columns=[
                PreviewColumn(
                    index=index,
                    header=header,
                    samples=preview.samples[index] if index < len(preview.samples) else [],
                    suggested=None
                    if (s := preview.suggestions[index]) is None
                    else SuggestedField(field=s.field, confidence=s.confidence),
                    mapped_to=mapped.get(index),
                )
                for index, header in enumerate(preview.header)
            ],
            rows=[PreviewRow.model_validate(r) for r in preview.rows],
            warnings=preview.warnings,
            mapping_problems=[_problem(new, create_fields) for new in preview.undefined_fields],
        )


def _problem(new: NewField, create_fields: bool) -> MappingProblem:
    column, field = new.column.header, f"custom.{new.column.key}"
    outcome = (
        f"an upload with create_fields=true defines it as {new.field_type}"
        if create_fields
        else f"an upload refuses it; send create_fields=true to define it as {new.field_type}"
    )
    return MappingProblem(
        column=column,
        field=field,
        type=new.field_type,
        created_on_upload=create_fields,
        message=f"column '{column}' maps to '{field}', which is not a defined custom field; "
        + outcome,
    )
