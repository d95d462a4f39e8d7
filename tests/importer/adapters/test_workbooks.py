"""Workbook checks before reading: zip bombs by size and ratio, DOCTYPEs, sheets by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_importer.adapters.workbooks import WorkbookBudget, check_archive, sheet_head, zip_format
from crm_shared.problems import Unprocessable
from tests.importer.files.workbooks import entity_expansion, xlsx, zip_bomb


def _file(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "book.xlsx"
    path.write_bytes(content)
    return path


def test_a_plain_workbook_passes_and_is_recognised(tmp_path: Path) -> None:
    path = _file(tmp_path, xlsx({"A": [["name"], ["Ada"]]}))
    check_archive(path, WorkbookBudget())
    assert zip_format(path) == "xlsx"


def test_a_part_compressed_beyond_the_ratio_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Unprocessable, match=r"compressed 10\d\d times"):
        check_archive(_file(tmp_path, zip_bomb(8)), WorkbookBudget())


def test_a_workbook_inflating_beyond_the_budget_is_refused(tmp_path: Path) -> None:
    budget = WorkbookBudget(max_uncompressed_bytes=4 * 1024 * 1024, max_ratio=10_000)
    with pytest.raises(Unprocessable, match=r"would decompress to \d+ bytes"):
        check_archive(_file(tmp_path, zip_bomb(8)), budget)


def test_a_doctype_in_a_part_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Unprocessable, match=r"sheet1\.xml declares a DOCTYPE"):
        check_archive(_file(tmp_path, entity_expansion()), WorkbookBudget())


async def test_the_child_reads_a_chosen_sheet_with_typed_cells_as_text(tmp_path: Path) -> None:
    path = _file(tmp_path, xlsx({"One": [["a"]], "Two": [["n", "x"], ["Ada", 2.0], ["Bo", True]]}))
    head = await sheet_head(path, "Two", 10, WorkbookBudget())
    assert (head.sheets, head.sheet) == (["One", "Two"], "Two")
    assert head.rows == [["n", "x"], ["Ada", "2"], ["Bo", "true"]]


async def test_a_child_over_its_memory_budget_is_refused_not_the_importer(tmp_path: Path) -> None:
    path = _file(tmp_path, xlsx({"One": [["name"], ["Ada"]]}))
    with pytest.raises(Unprocessable, match="more than 4 MB of memory"):
        await sheet_head(path, None, 10, WorkbookBudget(child_memory_bytes=4 * 1024 * 1024))
