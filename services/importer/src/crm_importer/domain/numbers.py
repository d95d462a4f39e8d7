"""Decimal commas: `1.234,5` in a `;`-separated file is the number 1234.5."""

from __future__ import annotations

import re

# 12,5 | -1.234,56 | 1 234,5 (thin or plain spaces group thousands too)
DECIMAL_COMMA = re.compile(r"^[+-]?\d{1,3}(?:[.\s\u202f\u00a0]\d{3})*,\d+$|^[+-]?\d+,\d+$")
_GROUPING = re.compile(r"[.\s\u202f\u00a0]")


def from_decimal_comma(text: str) -> str:
    """The cell with a decimal comma rewritten with a point; any other text unchanged."""
    value = text.strip()
    if not DECIMAL_COMMA.match(value):
        return text
    return _GROUPING.sub("", value).replace(",", ".")
