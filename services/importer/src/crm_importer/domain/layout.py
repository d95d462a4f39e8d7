"""How an uploaded file is laid out: its format, encoding, delimiter, header row and sheet."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

FileFormat = Literal["csv", "xlsx", "xls", "ods"]
WORKBOOK_FORMATS: frozenset[str] = frozenset({"xlsx", "xls", "ods"})
SUPPORTED_FORMATS = (
    "CSV or other delimited text (delimiter , ; tab or |; UTF-8, UTF-16 or a single-byte "
    "code page such as Windows-1252), Excel .xlsx and .xls, OpenDocument .ods"
)


class LayoutChoice(BaseModel):
    """What the request chose instead of detecting (each None: detected)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    encoding: str | None = None
    delimiter: str | None = None
    # 1-based: the header is the file's (or sheet's) Nth record, blank ones counted.
    header_row: int | None = None
    sheet: str | None = None


class FileLayout(BaseModel):
    """What reading the file needs; workbooks are read from their sheet converted to CSV."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: FileFormat = "csv"
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    header_row: int = 1
    sheet: str | None = None
    sheets: list[str] = []

    @property
    def is_workbook(self) -> bool:
        """True for .xlsx, .xls and .ods (read through a converted copy of one sheet)."""
        return self.format in WORKBOOK_FORMATS
