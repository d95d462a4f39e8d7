"""`plain_contact_created` / `plain_contact_updated` take only data the models take as it is."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from crm_shared.events import ContactCreated, ContactUpdated
from crm_shared.events.contacts import plain_contact_created, plain_contact_updated

PROFILE: dict[str, Any] = {
    "name": 'Zoë "Q" O\'Brien\\',
    "email": "zoe@example.com",
    "phone": "+14155550100",
    "company": "Ünïcode ☃ Ltd",
    "timezone": None,
    "tags": ["customer", "imported"],
    "custom_fields": {"tier": "gold", "score": 1.5, "nested": {"b": [1, None], "a": True}},
    "emails": [],
    "phones": ["+14155550101"],
    "owner": None,
    "account_id": "acc-1",
    "external_ids": {"hubspot": "h-1"},
    "sources": ["import"],
}
CREATED: dict[str, Any] = {
    "contact_id": "c-1",
    "version": 1,
    "source": "import",
    "profile": PROFILE,
    "import_job_id": "j-1",
}
UPDATED: dict[str, Any] = {
    "contact_id": "c-1",
    "version": 2,
    "changes": {"email": {"before": "a@example.com", "after": None}, "tags": {"after": ["x"]}},
    "import_job_id": None,
}

# Per attribute: values the model takes as they are, ones it coerces, and ones it refuses.
HEAD_VARIANTS: dict[str, list[Any]] = {
    "contact_id": ["c-2", "", 5, None],
    "version": [3, 0, -1, "3", 3.0, True, None],
    "import_job_id": [None, "j-2", 7],
    "extra": ["ignored"],
}
PROFILE_VARIANTS: dict[str, list[Any]] = {
    "name": ["", "x", None, 3],
    "email": [None, "", "e", 4, ["e"]],
    "owner": ["u-1", 2],
    "tags": [[], ["a", ""], ["a", 1], "a", None, [None]],
    "sources": [["s"], [["s"]]],
    "custom_fields": [{}, {"k": None}, [], None, "x"],
    "external_ids": [{}, {"k": "v"}, {"k": 1}, {"k": None}, None],
    "unknown": [1],
}
CHANGES_VARIANTS: list[Any] = [
    {},
    {"name": {}},
    {"name": {"before": 1, "after": {"x": [1.5]}, "more": 1}},
    {"name": None},
    {"name": "x"},
    {"name": ["before", "after"]},
    [],
    None,
]


def _created_cases() -> list[dict[str, Any]]:
    cases = [dict(CREATED)]
    for name, values in {**HEAD_VARIANTS, "source": ["api", 1, None]}.items():
        cases.extend({**CREATED, name: value} for value in values)
        cases.append({k: v for k, v in CREATED.items() if k != name})
    for name, values in PROFILE_VARIANTS.items():
        cases.extend({**CREATED, "profile": {**PROFILE, name: value}} for value in values)
        without = {k: v for k, v in PROFILE.items() if k != name}
        cases.append({**CREATED, "profile": without})
    cases.extend({**CREATED, "profile": value} for value in (None, [], "p", {"name": "n"}))
    return cases


def _updated_cases() -> list[dict[str, Any]]:
    cases = [dict(UPDATED)]
    for name, values in HEAD_VARIANTS.items():
        cases.extend({**UPDATED, name: value} for value in values)
        cases.append({k: v for k, v in UPDATED.items() if k != name})
    cases.extend({**UPDATED, "changes": changes} for changes in CHANGES_VARIANTS)
    return cases


def _json(data: dict[str, Any]) -> dict[str, Any]:
    """The data as a consumer reads it off a record."""
    parsed: dict[str, Any] = orjson.loads(orjson.dumps(data))
    return parsed


@pytest.mark.parametrize("data", _created_cases())
def test_created_data_taken_plain_is_what_the_model_reads(data: dict[str, Any]) -> None:
    data = _json(data)
    if not plain_contact_created(data):
        return  # validated as before
    model = ContactCreated.model_validate(data)  # raises if the model refuses it
    assert (model.contact_id, model.version, model.import_job_id) == (
        data["contact_id"],
        data["version"],
        data.get("import_job_id"),
    )
    assert type(model.version) is type(data["version"])
    defaults = ContactCreated.model_fields["profile"].annotation.model_fields  # type: ignore[union-attr]
    for name, value in model.profile.__dict__.items():
        expected = data["profile"].get(name, defaults[name].default)
        assert value == expected and type(value) is type(expected), name


@pytest.mark.parametrize("data", _updated_cases())
def test_updated_data_taken_plain_is_what_the_model_reads(data: dict[str, Any]) -> None:
    data = _json(data)
    if not plain_contact_updated(data):
        return
    model = ContactUpdated.model_validate(data)
    assert (model.contact_id, model.version, model.import_job_id) == (
        data["contact_id"],
        data["version"],
        data.get("import_job_id"),
    )
    assert type(model.version) is type(data["version"])
    read = {name: (c.before, c.after) for name, c in model.changes.items()}
    plain = {name: (c.get("before"), c.get("after")) for name, c in data["changes"].items()}
    assert read == plain


def test_producers_data_is_plain_and_the_checks_refuse_some() -> None:
    assert plain_contact_created(_json(CREATED))
    assert plain_contact_updated(_json(UPDATED))
    created = [plain_contact_created(_json(case)) for case in _created_cases()]
    updated = [plain_contact_updated(_json(case)) for case in _updated_cases()]
    assert 10 < sum(created) < len(created)
    assert 5 < sum(updated) < len(updated)
