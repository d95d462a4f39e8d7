"""The head of an uploaded file: its layout (detected or chosen), header and first rows.

Reads only the first bytes of a text file (a preview of a 100 MB CSV reads 256 KiB); a workbook
is checked for zip bombs and entity declarations, then its sheet's first rows are read by the
bounded child process.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

from crm_importer.adapters.encodings import check_encoding, detect_encoding
from crm_importer.adapters.workbooks import (
    XLS_MAGIC,
    ZIP_MAGIC,
    WorkbookBudget,
    check_workbook,
    sheet_head,
    zip_format,
)
from crm_importer.domain.dialect import (
    DELIMITER_NAMES,
    DELIMITERS,
    SAMPLE_RECORDS,
    detect_delimiter,
    detect_header_row,
    parse_sample,
)
from crm_importer.domain.layout import SUPPORTED_FORMATS, FileFormat, FileLayout, LayoutChoice
from crm_importer.domain.records import is_blank
from crm_shared.problems import Unprocessable

HEAD_BYTES = 256 * 1024
SAMPLE_ROWS = 20
# Bytes that begin files people upload by mistake, and what they are.
_OTHER_FORMATS = {b"%PDF": "a PDF document", b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG"}


@dataclass
class FileHead:
    """A file's layout, header cells and first data rows (blank ones left out)."""

    layout: FileLayout
    header: list[str]
    rows: list[list[str]]
    warnings: list[str] = field(default_factory=list)

    def samples(self) -> list[list[str]]:
        """Column by column, the first rows' cells."""
        return [[row[i] for row in self.rows if i < len(row)] for i in range(len(self.header))]


def _unsupported(what: str) -> Unprocessable:
    return Unprocessable(
        f"the file is {what}, which cannot be imported; supported formats: {SUPPORTED_FORMATS}",
        extra={"field": "file", "supported_formats": ["csv", "tsv", "xlsx", "xls", "ods"]},
    )


def sniff_format(path: Path, head: bytes) -> FileFormat:
    """The file's format from its first bytes (and a zip archive's directory)."""
    if head.startswith(ZIP_MAGIC):
        found = zip_format(path)
        if found is None:
            raise _unsupported("a zip archive that is no .xlsx or .ods workbook")
        return "xlsx" if found == "xlsx" else "ods"
    if head.startswith(XLS_MAGIC):
        return "xls"
    for magic, what in _OTHER_FORMATS.items():
        if head.startswith(magic):
            raise _unsupported(what)
    return "csv"


def sniff_upload(path: Path) -> FileFormat:
    """The format of the file at `path`, from its first bytes."""
    with path.open("rb") as raw:
        return sniff_format(path, raw.read(16))


def _chosen_encoding(choice: LayoutChoice, head: bytes) -> str:
    if choice.encoding is None:
        return detect_encoding(head)
    name = check_encoding(choice.encoding)
    if name is None:
        raise Unprocessable(
            f"encoding '{choice.encoding}' is not one Python knows (for example utf-8, "
            "utf-16, cp1252, latin-1)",
            extra={"field": "encoding"},
        )
    return "utf-8-sig" if name == "utf-8" else name


def _chosen_delimiter(choice: LayoutChoice, text: str) -> str:
    if choice.delimiter is None:
        return detect_delimiter(text)
    delimiter = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}.get(
        choice.delimiter.strip().lower(), choice.delimiter
    )
    if delimiter not in DELIMITERS:
        raise Unprocessable("delimiter must be one of , ; | or tab", extra={"field": "delimiter"})
    return delimiter


def _decode_head(head: bytes, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="surrogateescape")
    text: str = decoder.decode(head, final=False)
    if "\x00" in text:
        raise _unsupported("binary data (it holds NUL characters)")
    return text


def _split(records: list[list[str]], choice: LayoutChoice) -> tuple[int, list[str]]:
    if all(is_blank(r) for r in records):
        raise Unprocessable(
            "the file is empty; send a file with a header row", extra={"field": "file"}
        )
    if choice.header_row is None:
        index = detect_header_row(records)
    else:
        index = choice.header_row - 1
        if index >= len(records) or is_blank(records[index]):
            raise Unprocessable(
                f"header_row {choice.header_row} is not a non-blank row among the file's first "
                f"{len(records)} rows",
                extra={"field": "header_row"},
            )
    return index, records[index]


async def read_head(path: Path, choice: LayoutChoice, budget: WorkbookBudget) -> FileHead:
    """Detect (or take the chosen) layout and read the header and first rows."""
    with path.open("rb") as raw:
        head = raw.read(HEAD_BYTES)
    if not head:
        raise Unprocessable(
            "the file is empty; send a file with a header row", extra={"field": "file"}
        )
    file_format = sniff_format(path, head)
    warnings: list[str] = []
    if file_format == "csv":
        encoding = _chosen_encoding(choice, head)
        text = _decode_head(head, encoding)
        delimiter = _chosen_delimiter(choice, text)
        records = parse_sample(text, delimiter, limit=SAMPLE_RECORDS + SAMPLE_ROWS)
        layout = FileLayout(format="csv", encoding=encoding, delimiter=delimiter)
    else:
        check_workbook(path, file_format, budget)
        sheet = await sheet_head(path, choice.sheet, SAMPLE_RECORDS + SAMPLE_ROWS, budget)
        records = sheet.rows
        layout = FileLayout(format=file_format, sheet=sheet.sheet, sheets=sheet.sheets)
    index, header = _split(records, choice)
    if index:
        warnings.append(f"the first {index} row(s) are above the header row and are not imported")
    rows = [r for r in records[index + 1 :] if not is_blank(r)][:SAMPLE_ROWS]
    layout = layout.model_copy(update={"header_row": index + 1})
    return FileHead(layout=layout, header=header, rows=rows, warnings=warnings)


def describe_delimiter(delimiter: str) -> str:
    """A delimiter's name (tab rather than an invisible character)."""
    return DELIMITER_NAMES.get(delimiter, delimiter)
