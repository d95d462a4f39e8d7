"""The small form fields of an upload or a preview: layout choices, checked and typed."""

from __future__ import annotations

from crm_importer.domain.layout import LayoutChoice
from crm_shared.problems import BadRequest, Unprocessable

LAYOUT_FIELDS = ("encoding", "delimiter", "header_row", "sheet")
_MAX_HEADER_ROW = 20


def refuse_unknown_fields(fields: dict[str, str], allowed: tuple[str, ...]) -> None:
    """400 naming every form field the endpoint does not know (never silently ignored)."""
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise BadRequest(
            f"unknown form field(s): {', '.join(unknown)}; this endpoint takes file, "
            f"{', '.join(allowed)}",
            extra={"unknown_fields": unknown, "allowed_fields": ["file", *allowed]},
        )


def _text(fields: dict[str, str], name: str) -> str | None:
    value = fields.get(name, "")
    return value if value.strip() else None


def layout_choice(fields: dict[str, str]) -> LayoutChoice:
    """The encoding, delimiter, header row and sheet the request chose (blank: detect)."""
    header_row: int | None = None
    if (raw := _text(fields, "header_row")) is not None:
        if not raw.strip().isdigit() or not 1 <= int(raw) <= _MAX_HEADER_ROW:
            raise Unprocessable(
                f"header_row must be a row number from 1 to {_MAX_HEADER_ROW}",
                extra={"field": "header_row"},
            )
        header_row = int(raw)
    delimiter = fields.get("delimiter") or None  # a tab is blank to strip()
    return LayoutChoice(
        encoding=_text(fields, "encoding"),
        delimiter=delimiter,
        header_row=header_row,
        sheet=_text(fields, "sheet"),
    )
