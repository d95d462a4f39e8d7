"""If-None-Match (RFC 9110 section 13.1.2): which headers make a GET answer 304, which are a 400."""

from __future__ import annotations

import pytest
from starlette.responses import Response

from crm_shared.conditional import none_match_fails, not_modified, opaque_tags, versioned_json
from crm_shared.problems import BadRequest


def test_no_header_never_answers_304() -> None:
    assert not none_match_fails(None, '"3"')


@pytest.mark.parametrize("header", ['"3"', 'W/"3"', ' "3" ', '"1", "3"', 'W/"2",W/"3"', "*", " * "])
def test_the_current_version_strong_weak_in_a_list_or_star_answers_304(header: str) -> None:
    assert none_match_fails(header, '"3"')


@pytest.mark.parametrize("header", ['"4"', 'W/"33"', '"1", "2"', '""', "", ", ,"])
def test_other_tags_an_empty_list_or_a_near_miss_answer_200(header: str) -> None:
    assert not none_match_fails(header, '"3"')


def test_a_weak_current_tag_matches_a_strong_one_sent_back() -> None:
    # Weak comparison both ways: only the opaque parts count.
    assert none_match_fails('"3"', 'W/"3"')


def test_a_tag_holding_a_comma_is_one_tag_not_two() -> None:
    assert opaque_tags('"a,b", W/"c"') == ["a,b", "c"]
    assert none_match_fails('"a,b"', '"a,b"')
    assert not none_match_fails('"a,b"', '"a"')


def test_empty_list_elements_are_skipped() -> None:
    assert opaque_tags(', "3",, W/"4" ,') == ["3", "4"]


@pytest.mark.parametrize(
    "header", ["3", "W/3", '"3', '"3"x', '"3" "4"', "W/", '*, "3"', '"a"b"', '"3 "']
)
def test_a_header_that_is_not_star_or_a_list_of_tags_is_a_400(header: str) -> None:
    with pytest.raises(BadRequest) as raised:
        none_match_fails(header, '"3"')
    assert raised.value.extra == {"field": "If-None-Match"}
    assert "entity tags" in raised.value.detail


def test_not_modified_carries_the_etag_and_no_body() -> None:
    response = not_modified('"7"')
    assert response.status_code == 304
    assert response.body == b""
    assert response.headers["etag"] == '"7"'
    assert "content-length" not in response.headers
    assert "content-type" not in response.headers


@pytest.mark.parametrize("body", [b'{"id":"a"}', '{"id":"é"}'])
def test_a_versioned_answer_has_the_headers_and_body_a_plain_response_would(
    body: bytes | str,
) -> None:
    made = versioned_json(3, None, lambda: body)
    plain = Response(body, media_type="application/json", headers={"ETag": '"3"'})
    assert (made.status_code, made.body, made.raw_headers) == (
        plain.status_code,
        plain.body,
        plain.raw_headers,
    )
    assert made.headers["content-type"] == "application/json"
