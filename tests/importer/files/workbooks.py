"""Workbooks written for tests: real .xlsx files (openpyxl), a zip bomb, an entity expansion."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from openpyxl import Workbook


def xlsx(sheets: dict[str, list[list[Any]]]) -> bytes:
    """An .xlsx with these sheets (in this order) and rows."""
    book = Workbook()
    default = book.active
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    if default is not None:
        book.remove(default)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rewritten(workbook: bytes, replace: dict[str, bytes], add: dict[str, int]) -> bytes:
    """The workbook with parts replaced, and parts of `n` zero bytes added (streamed, so the
    test process never holds them)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(workbook)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, replace.get(info.filename, source.read(info)))
        chunk = b"\0" * (1024 * 1024)
        for name, size in add.items():
            with target.open(name, "w", force_zip64=True) as part:
                for _ in range(size // len(chunk)):
                    part.write(chunk)
    return out.getvalue()


def zip_bomb(megabytes: int) -> bytes:
    """A valid workbook carrying a part of `megabytes` MB of zeros that inflates ~1,000 times."""
    return _rewritten(
        xlsx({"Contacts": [["name"], ["Ada"]]}), {}, {"xl/media/pad.bin": megabytes * 1024 * 1024}
    )


BILLION_LAUGHS = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>
<row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row>
</sheetData></worksheet>"""


def entity_expansion() -> bytes:
    """A workbook whose sheet declares the billion-laughs entities."""
    book = xlsx({"Contacts": [["name"], ["Ada"]]})
    return _rewritten(book, {"xl/worksheets/sheet1.xml": BILLION_LAUGHS}, {})
