"""The shared consent rules: the `consent=` grammar and what "granted now" means across channels."""

from __future__ import annotations

import pytest

from crm_shared.consent import ConsentDecision, granted_tokens, parse_selector
from crm_shared.filters import ContactFilter, InvalidFilter


def _decision(purpose: str, channel: str, status: str, at: str, entry: str) -> ConsentDecision:
    return ConsentDecision(purpose, channel, status == "granted", f"2026-01-0{at}", entry)


def test_a_selector_reads_purpose_channel_and_negation() -> None:
    assert parse_selector("marketing:email").token == "marketing:email"
    assert parse_selector("marketing:email").negated is False
    assert parse_selector("!news_letter:any").negated is True
    assert parse_selector("!news_letter:any").token == "news_letter:any"


@pytest.mark.parametrize(
    "text", ["marketing", "marketing:fax", "Marketing:email", "!:email", "marketing:email\n"]
)
def test_a_malformed_selector_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="purpose"):
        parse_selector(text)


def test_a_specific_channel_is_granted_on_its_own() -> None:
    assert granted_tokens([_decision("marketing", "email", "granted", "1", "a")]) == [
        "marketing:email"
    ]


def test_any_grants_every_channel_and_is_itself_granted() -> None:
    tokens = granted_tokens([_decision("marketing", "any", "granted", "1", "a")])
    assert tokens == sorted(f"marketing:{c}" for c in ("any", "chat", "email", "phone", "sms"))


def test_a_later_withdrawal_on_one_channel_leaves_the_others_and_ends_any() -> None:
    tokens = granted_tokens(
        [
            _decision("marketing", "any", "granted", "1", "a"),
            _decision("marketing", "sms", "withdrawn", "2", "b"),
        ]
    )
    assert tokens == ["marketing:chat", "marketing:email", "marketing:phone"]


def test_a_later_any_decision_overrides_an_earlier_specific_one() -> None:
    tokens = granted_tokens(
        [
            _decision("marketing", "sms", "granted", "1", "a"),
            _decision("marketing", "any", "withdrawn", "2", "b"),
        ]
    )
    assert tokens == []


def test_the_latest_decision_wins_whatever_order_they_come_in() -> None:
    later = _decision("marketing", "email", "withdrawn", "2", "b")
    earlier = _decision("marketing", "email", "granted", "1", "a")
    assert granted_tokens([later, earlier]) == granted_tokens([earlier, later]) == []


def test_the_filter_takes_consent_from_a_query_string_and_gives_it_back() -> None:
    criteria = ContactFilter.from_query_params(
        [("consent", "marketing:email"), ("consent", "!sms_offers:sms")]
    )
    assert criteria.consent == ["marketing:email", "!sms_offers:sms"]
    assert [s.negated for s in criteria.consent_selectors()] == [False, True]
    # Exports hand the filter on as query parameters: the consent travels with it.
    assert ContactFilter.from_query_params(criteria.query_params()) == criteria


def test_the_filter_takes_one_consent_string_in_a_json_body() -> None:
    assert ContactFilter.model_validate({"consent": "marketing:sms"}).consent == ["marketing:sms"]


def test_a_malformed_consent_filter_names_the_parameter() -> None:
    with pytest.raises(InvalidFilter, match="consent"):
        ContactFilter.from_query_params([("consent", "marketing:fax")])
