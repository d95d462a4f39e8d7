"""The form editor's values to the forms API's body and back."""

from __future__ import annotations

import pytest

from crm_console.domain.forms import FormInputProblem, form_body, form_values, targets

TARGETS = [t for t, _ in targets([("plan", "Plan")])]


def test_the_editor_values_become_the_api_body_and_come_back_unchanged() -> None:
    values = {
        "name": " Newsletter ",
        "field.email": "mail",
        "field.name": " full_name ",
        "field.phone": "",
        "field.custom_fields.plan": "plan",
        "origins": "https://a.example\n\n https://b.example \n",
        "consents": "newsletter:email: Send me the newsletter\n",
        "notice_version": "",
    }

    body = form_body(values, TARGETS)

    assert body == {
        "name": "Newsletter",
        "fields": {"full_name": "name", "mail": "email", "plan": "custom_fields.plan"},
        "consent_purposes": [
            {"purpose": "newsletter", "channel": "email", "label": "Send me the newsletter"}
        ],
        "allowed_origins": ["https://a.example", "https://b.example"],
        "notice_version": None,
    }
    again = form_values(body)
    assert form_body(again, TARGETS) == body


def test_a_consent_line_without_its_three_parts_is_named() -> None:
    with pytest.raises(FormInputProblem, match="consent line 2 must read purpose:channel: label"):
        form_body({"consents": "a:email: A\nnewsletter email\n"}, TARGETS)
