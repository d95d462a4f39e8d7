"""Consent ledger rules: the latest entry per purpose and channel decides."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm_gdpr.domain.consent import ConsentEntry, RecordConsent, current_consents


def _entry(n: int, purpose: str, status: str, channel: str = "any") -> ConsentEntry:
    command = RecordConsent.model_validate(
        {"contact_id": "c1", "purpose": purpose, "status": status, "channel": channel}
    )
    return ConsentEntry.record(
        command,
        id=f"id{n:03d}",
        tenant="acme",
        recorded_at=f"2025-01-01T00:00:{n:02d}.000000Z",
        recorded_by="key_x",
    )


def test_withdrawal_after_grant_is_current_with_both_in_history() -> None:
    [newsletter] = current_consents(
        [_entry(2, "newsletter", "withdrawn"), _entry(1, "newsletter", "granted")]
    )
    assert newsletter.status == "withdrawn"
    assert [e.status for e in newsletter.history] == ["granted", "withdrawn"]
    assert newsletter.updated_at == "2025-01-01T00:00:02.000000Z"


def test_channels_of_one_purpose_are_tracked_separately() -> None:
    purposes = current_consents(
        [_entry(1, "marketing", "granted", "email"), _entry(2, "marketing", "withdrawn", "sms")]
    )
    assert [(p.purpose, p.channel, p.status) for p in purposes] == [
        ("marketing", "email", "granted"),
        ("marketing", "sms", "withdrawn"),
    ]


def test_defaults_are_any_channel_and_consent_basis() -> None:
    command = RecordConsent(contact_id="c1", purpose="newsletter", status="granted")
    assert (command.channel, command.lawful_basis) == ("any", "consent")


@pytest.mark.parametrize("purpose", ["Newsletter", "1st", "", "a" * 65, "news letter"])
def test_purpose_must_be_a_slug(purpose: str) -> None:
    with pytest.raises(ValidationError):
        RecordConsent(contact_id="c1", purpose=purpose, status="granted")
