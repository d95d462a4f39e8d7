"""HEAD on the console's pages and files: the GET's status and headers, without the body."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

_DIFFERING = frozenset({"x-request-id", "set-cookie"})


def _head_as_get(console: TestClient, path: str) -> int:
    head = console.head(path)
    got = console.get(path)
    assert head.content == b"", path
    assert head.status_code == got.status_code, path
    seen = {name: value for name, value in head.headers.items() if name not in _DIFFERING}
    wanted = {name: value for name, value in got.headers.items() if name not in _DIFFERING}
    assert seen == wanted, path
    return head.status_code


def test_head_of_a_page_a_redirect_and_a_missing_page_are_their_gets(console: TestClient) -> None:
    assert _head_as_get(console, "/signin") == 200
    assert _head_as_get(console, "/contacts") in (302, 303, 307)  # not signed in
    assert _head_as_get(console, "/no-such-page") == 404
    assert _head_as_get(console, "/static/console.css") == 200


def test_head_of_a_signed_in_page_is_its_get(
    console: TestClient, sign_in: Callable[[str], str]
) -> None:
    sign_in("admin-key")
    assert _head_as_get(console, "/contacts/c1") == 200
