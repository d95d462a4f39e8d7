"""Previous-page links over forward-only cursors: the earlier pages' cursors ride in the URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from crm_console.domain.paging import MAX_BACK, page_links


def _query(url: str | None) -> dict[str, list[str]]:
    assert url is not None
    return parse_qs(urlsplit(url).query)


def test_walking_forward_then_back_returns_to_each_earlier_page() -> None:
    kept = {"tag": "vip"}
    first = page_links("/contacts", kept, cursor="", back=[], next_cursor="c2")
    assert first.previous_url is None and first.first_url is None

    second_q = _query(first.next_url)
    second = page_links(
        "/contacts",
        kept,
        cursor=second_q["cursor"][0],
        back=second_q.get("back", []),
        next_cursor="c3",
    )
    third_q = _query(second.next_url)
    assert third_q == {"tag": ["vip"], "cursor": ["c3"], "back": ["c2"]}
    third = page_links("/contacts", kept, cursor="c3", back=["c2"], next_cursor=None)

    assert third.next_url is None
    assert _query(third.previous_url) == {"tag": ["vip"], "cursor": ["c2"]}
    assert _query(second.previous_url) == {"tag": ["vip"]}
    assert third.first_url == "/contacts?tag=vip"


def test_only_the_last_cursors_are_kept_so_urls_stay_short() -> None:
    back = [f"c{i}" for i in range(2, 40)]

    links = page_links("/contacts", {}, cursor="c40", back=back, next_cursor="c41")

    assert _query(links.next_url)["back"] == [f"c{i}" for i in range(41 - MAX_BACK, 41)]
    assert _query(links.previous_url)["cursor"] == ["c39"]
