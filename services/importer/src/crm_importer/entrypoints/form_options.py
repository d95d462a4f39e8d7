"""The small form fields of an upload or a preview: layout choices, checked and typed."""

from __future__ import annotations

from typing import cast, get_args

from crm_importer.domain.layout import LayoutChoice
from crm_shared.events.imports import MatchIdentifier
from crm_shared.problems import BadRequest, Unprocessable

_FLAGS = {"": False, "false": False, "0": False, "no": False, "true": True, "1": True, "yes": True}
MATCH_IDENTIFIERS: tuple[str, ...] = get_args(MatchIdentifier)

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


def flag(fields: dict[str, str], name: str) -> bool:
    """A true/false form field (absent: false); 422 naming it when it is neither."""
    raw = fields.get(name, "").strip().casefold()
    if raw not in _FLAGS:
        raise Unprocessable(f"{name} must be true or false", extra={"field": name})
    return _FLAGS[raw]


def match_on(fields: dict[str, str]) -> list[MatchIdentifier]:
    """The identifiers that find a row's existing contact, in order ("email,phone"); empty:
    the default (email, then phone). 422 naming an unknown or repeated one."""
    raw = fields.get("match_on", "")
    chosen = [part.strip().casefold() for part in raw.split(",") if part.strip()]
    for identifier in chosen:
        if identifier not in MATCH_IDENTIFIERS:
            raise Unprocessable(
                f"match_on names '{identifier}'; a row is matched by "
                f"{' or '.join(MATCH_IDENTIFIERS)} (several in order, comma-separated)",
                extra={"field": "match_on", "allowed": list(MATCH_IDENTIFIERS)},
            )
    if len(set(chosen)) != len(chosen):
        raise Unprocessable("match_on names an identifier twice", extra={"field": "match_on"})
    return [cast(MatchIdentifier, identifier) for identifier in chosen]
