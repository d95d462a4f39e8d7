"""Previous-page links over forward-only cursors: the cursors of earlier pages ride in the URL.

The contacts API pages forward only (`next_cursor`). Each page's link carries, as repeated `back`
parameters, the cursors of the pages before it (the first page has none), so "Previous page"
needs no server-side state and works in any tab and on any replica. Only the last `MAX_BACK` are
kept (URLs stay short); further back, "Previous page" returns to the first page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

MAX_BACK = 20


@dataclass(frozen=True)
class PageLinks:
    """The pager's links for the page at `cursor` ("" for the first page)."""

    next_url: str | None
    previous_url: str | None
    first_url: str | None


def page_links(
    path: str,
    kept: Mapping[str, str],
    *,
    cursor: str,
    back: Sequence[str],
    next_cursor: str | None,
) -> PageLinks:
    """Links to the next, previous and first pages, keeping the filters in `kept`."""

    def url(at: str, stack: Sequence[str]) -> str:
        params = [*kept.items()]
        if at:
            params.append(("cursor", at))
        params += [("back", earlier) for earlier in stack[-MAX_BACK:]]
        return f"{path}?{urlencode(params)}" if params else path

    stack = [earlier for earlier in back if earlier][-MAX_BACK:]
    next_url = url(next_cursor, [*stack, cursor] if cursor else []) if next_cursor else None
    previous_url = None
    if cursor:
        previous_url = url(stack[-1], stack[:-1]) if stack else url("", [])
    return PageLinks(next_url, previous_url, url("", []) if cursor else None)
