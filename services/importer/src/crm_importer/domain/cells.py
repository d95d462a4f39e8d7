"""Cells that are safe to open in a spreadsheet: OWASP's CSV injection rule, in one place.

A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` as a formula (tab and carriage
return can hide such a start), so every cell of an export and of an errors.csv goes through
`neutralize` first: such a cell gets a leading single quote, which spreadsheets show as text.

One considered exception: a cell that is nothing but a number, optionally signed (`-5`, `+1.5`,
and E.164 phones such as `+33612345678`), or a `;`-separated list of them (a contact's phones),
is left as it is. Without letters, parentheses, references or operators between digits it cannot
call a function or reach another cell, so a spreadsheet only ever shows it as a value (or an
error), while a quote would corrupt every negative amount and every phone number for the next
import of the file. Anything else after the sign (`-2+3+cmd|...`, `+33 6 12`) is quoted.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = r"[+-]?(?:[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)"
_PLAIN_NUMBERS = re.compile(rf"{_NUMBER}(?:;{_NUMBER})*")


def neutralize(text: str) -> str:
    """The cell's text, quoted when a spreadsheet would run it as a formula."""
    if not text.startswith(FORMULA_STARTS):
        return text
    if _PLAIN_NUMBERS.fullmatch(text):
        return text
    return "'" + text


# A cell starting with a formula character follows the separator in a column joined by it.
_MARKS = tuple("\x00" + start for start in FORMULA_STARTS)


def neutralize_column(cells: list[str]) -> list[str]:
    """`neutralize` of each cell; a column none of whose cells starts with a formula character
    (most of an export's) comes back as it is after a few substring searches, no call per cell.
    A separator inside a cell can only cause a false alarm: the cells are then checked one by one.
    """
    joined = "\x00" + "\x00".join(cells)
    if not any(mark in joined for mark in _MARKS):
        return cells
    return [neutralize(c) if c.startswith(FORMULA_STARTS) else c for c in cells]
