"""Cursors and If-Match parsing."""

from __future__ import annotations

import pytest

from crm_contacts.entrypoints.paging import decode_cursor, encode_cursor, expected_version
from crm_shared.ids import new_id
from crm_shared.problems import BadRequest


def test_cursor_round_trips_an_id() -> None:
    contact_id = new_id()
    assert decode_cursor(encode_cursor(contact_id)) == contact_id


def test_cursor_is_opaque_urlsafe_text() -> None:
    cursor = encode_cursor(new_id())
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor


@pytest.mark.parametrize("cursor", ["", "!!", "bm90LWEtdXVpZA", encode_cursor("x' OR 1=1")])
def test_malformed_cursor_is_a_bad_request(cursor: str) -> None:
    with pytest.raises(BadRequest):
        decode_cursor(cursor)


@pytest.mark.parametrize(("header", "version"), [("3", 3), ('"3"', 3), ('W/"3"', 3), (" 12 ", 12)])
def test_if_match_accepts_bare_quoted_and_weak_versions(header: str, version: int) -> None:
    assert expected_version(header) == version


def test_absent_or_star_if_match_requires_nothing() -> None:
    assert expected_version(None) is None
    assert expected_version("*") is None


@pytest.mark.parametrize("header", ["abc", '"3', "3.0", "-1", ""])
def test_malformed_if_match_is_a_bad_request(header: str) -> None:
    with pytest.raises(BadRequest):
        expected_version(header)
