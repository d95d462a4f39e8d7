"""Workbooks (.xlsx, .ods: zip archives of XML; .xls) read safely.

Before anything decompresses a workbook, its zip directory is checked: declared sizes and
compression ratios above a budget (zip bombs) and XML parts declaring a DOCTYPE (entity
expansion: spreadsheets never need one) are refused with the reason. Then the sheet is read by a
child process (`workbook_child`) under an address-space and CPU-time limit, so a workbook that
lies in its directory still costs the importer nothing but the child's budget.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm_shared.problems import Unprocessable

XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
# A DOCTYPE can only come before the root element: the head of each XML part is enough.
_PROLOG_BYTES = 64 * 1024
_DOCTYPE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_ELEMENT = re.compile(rb"<[A-Za-z_]")


@dataclass(frozen=True)
class WorkbookBudget:
    """What reading one workbook may cost."""

    max_uncompressed_bytes: int = 2 * 1024**3
    # XML compresses 5-20x; a zip bomb 1,000x and more.
    max_ratio: float = 200.0
    max_entries: int = 10_000
    child_memory_bytes: int = 3 * 1024**3
    child_cpu_seconds: int = 300
    child_wall_seconds: float = 600.0


@dataclass(frozen=True)
class SheetHead:
    """The sheets of a workbook and the first rows of one of them."""

    sheets: list[str]
    sheet: str
    rows: list[list[str]]


def zip_format(path: Path) -> str | None:
    """ "xlsx" or "ods" for a workbook archive, None for another zip archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "mimetype" in names and archive.read("mimetype").strip() == _ODS_MIMETYPE:
                return "ods"
    except (zipfile.BadZipFile, OSError, RuntimeError):
        return None
    return None


def _refuse(reason: str) -> Unprocessable:
    return Unprocessable(f"the workbook was refused: {reason}", extra={"field": "file"})


def check_archive(path: Path, budget: WorkbookBudget) -> None:
    """Refuse a zip bomb or an XML part declaring entities, before anything reads the sheet."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > budget.max_entries:
                raise _refuse(f"it holds {len(entries)} files (at most {budget.max_entries})")
            total = sum(e.file_size for e in entries)
            if total > budget.max_uncompressed_bytes:
                raise _refuse(
                    f"it would decompress to {total} bytes, more than the limit of "
                    f"{budget.max_uncompressed_bytes} (a zip bomb?)"
                )
            for entry in entries:
                ratio = entry.file_size / max(entry.compress_size, 1)
                if entry.file_size > 1024 * 1024 and ratio > budget.max_ratio:
                    raise _refuse(
                        f"part {entry.filename} is compressed {ratio:.0f} times (at most "
                        f"{budget.max_ratio:.0f}): a zip bomb?"
                    )
            for entry in entries:
                if entry.filename.endswith((".xml", ".rels")):
                    _check_prolog(archive, entry)
    except zipfile.BadZipFile as exc:
        raise _refuse("it is not a readable zip archive") from exc


def _check_prolog(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> None:
    with archive.open(entry) as part:
        head = part.read(_PROLOG_BYTES)
    root = _ELEMENT.search(head)
    prolog = head if root is None else head[: root.start()]
    if _DOCTYPE.search(prolog):
        raise _refuse(
            f"part {entry.filename} declares a DOCTYPE or entities, which spreadsheets never "
            "need (entity expansion)"
        )
    if root is None and len(head) == _PROLOG_BYTES:
        raise _refuse(f"part {entry.filename} has no element in its first {_PROLOG_BYTES} bytes")


def _limits(budget: WorkbookBudget) -> Any:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (budget.child_memory_bytes,) * 2)
        resource.setrlimit(resource.RLIMIT_CPU, (budget.child_cpu_seconds,) * 2)

    return apply


async def _run_child(budget: WorkbookBudget, *args: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "crm_importer.adapters.workbook_child",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        preexec_fn=_limits(budget),
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), budget.child_wall_seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise _refuse(f"reading it took longer than {budget.child_wall_seconds:g} s") from None
    try:
        answer: dict[str, Any] = json.loads(out.decode() or "null") or {}
    except ValueError:
        answer = {}
    if process.returncode == 2 and "error" in answer:
        raise Unprocessable(str(answer["error"]), extra={"field": "sheet"})
    if process.returncode != 0 or not answer:
        raise _refuse(
            f"reading it needed more than {budget.child_memory_bytes // 1024**2} MB of memory "
            f"or {budget.child_cpu_seconds} s of CPU"
        )
    return answer


def check_workbook(path: Path, file_format: str, budget: WorkbookBudget) -> None:
    """The checks that need no reading of the sheet (zip archives only; .xls is OLE2)."""
    if file_format in ("xlsx", "ods"):
        check_archive(path, budget)


async def sheet_head(path: Path, sheet: str | None, rows: int, budget: WorkbookBudget) -> SheetHead:
    """The workbook's sheets and the first `rows` rows of `sheet` (default: the first)."""
    answer = await _run_child(budget, "head", str(path), sheet or "", str(rows))
    return SheetHead(sheets=answer["sheets"], sheet=answer["sheet"], rows=answer["rows"])


async def convert_sheet(
    path: Path, sheet: str | None, out: Path, budget: WorkbookBudget
) -> SheetHead:
    """Write the sheet as UTF-8 CSV to `out`; the answer's rows are empty."""
    answer = await _run_child(budget, "convert", str(path), sheet or "", str(out))
    return SheetHead(sheets=answer["sheets"], sheet=answer["sheet"], rows=[])
