"""What the contacts service would say about a previewed row's emails and phones.

Uses the platform's one identity rules (crm_shared.identity), so a preview warns about exactly
the cells an import would leave out. A problem names the field and the kind of problem, never the
value (the same words as the contacts service's import warnings): the row itself is shown beside.
"""

from __future__ import annotations

from typing import Any

from crm_shared.identity import normalize_email, to_e164


def row_problems(row: dict[str, Any], *, region: str) -> list[str]:
    """A problem per email or phone the contacts service would leave out, and whether the row
    would fail for naming no one."""
    problems: list[str] = []
    for field in ("email", "emails"):
        values = row.get(field)
        for value in [values] if isinstance(values, str) else values or []:
            if normalize_email(value) is None:
                problems.append(f"{field} is not a valid address (left out)")
    for field in ("phone", "phones"):
        values = row.get(field)
        for value in [values] if isinstance(values, str) else values or []:
            if to_e164(value, region) is None:
                problems.append(f"{field} is not a valid phone number (left out)")
    email = row.get("email")
    if not row.get("name") and (not email or normalize_email(email) is None):
        problems.append("the row has no name and no valid email: it would fail")
    return problems
