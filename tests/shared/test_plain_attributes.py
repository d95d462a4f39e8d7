"""`plain_attributes` takes only envelopes pydantic takes, as pydantic reads them."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from crm_shared.envelope import EventEnvelope, plain_attributes

BASE: dict[str, Any] = {
    "specversion": "1.0",
    "id": "e-1",
    "source": "crm/test",
    "type": "crm.contacts.contact.created.v1",
    "time": "2026-01-02T03:04:05.123456Z",
    "subject": "c-1",
    "datacontenttype": "application/json",
    "dataschema": "https://crm.example/schemas/x.json",
    "tenant": "acme",
    "actor": "import:j-1",
    "traceparent": None,
    "data": {"contact_id": "c-1", "import_job_id": "j-1", "profile": {"name": "Zoë", "n": 1.5}},
}

# Each attribute's variants: valid spellings, ones pydantic coerces, and ones it refuses.
VARIANTS: dict[str, list[Any]] = {
    "specversion": ["1.0", "0.3", 1.0, None],
    "id": ["e-2", "", 7, None],
    "source": ["other", 3, None],
    "type": ["t", ["t"]],
    "time": [
        "2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05.1+02:00",
        "2026-01-02T03:04:05-05:30",
        "2026-01-02T03:04:05.1234567Z",
        "2026-01-02 03:04:05Z",
        "2026-01-02T03:04:05",
        "2026-01-02",
        "2026-02-30T03:04:05Z",
        "2026-01-02T24:00:00Z",
        "2026-01-02T03:04:05+24:00",
        1767323045,
        None,
        "soon",
    ],
    "subject": [None, "s", 5],
    "datacontenttype": ["text/plain", None, 1],
    "dataschema": [None, 2],
    "tenant": ["", "t2", None, 4],
    "actor": [None, "key:x", False],
    "traceparent": ["00-abc-def-01", 3],
    "data": [{}, [], "x", None, {"nested": {"deep": [1, 2, {"k": None}]}}],
    "extra": ["ignored"],
}


def _cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = [dict(BASE)]
    for name, values in VARIANTS.items():
        cases.extend({**BASE, name: value} for value in values)
        cases.append({k: v for k, v in BASE.items() if k != name})
    firsts = [(n, v[0]) for n, v in VARIANTS.items()]
    lasts = [(n, v[-1]) for n, v in VARIANTS.items()]
    # Pairs of changes, so a valid one never hides another's refusal.
    for (a, va), (b, vb) in itertools.combinations(firsts + lasts, 2):
        if a != b:
            cases.append({**BASE, a: va, b: vb})
    return cases


@pytest.mark.parametrize("attributes", _cases())
def test_plain_attributes_take_only_what_pydantic_takes_and_read_it_alike(
    attributes: dict[str, Any],
) -> None:
    raw = orjson.dumps(attributes)
    plain = plain_attributes(raw)
    if plain is None:
        return  # the consumer validates it fully, as before
    envelope = EventEnvelope.model_validate_json(raw)  # raises if pydantic refuses it
    read = (envelope.type, envelope.data, envelope.id, envelope.tenant)
    assert read == (plain["type"], plain["data"], plain["id"], plain["tenant"])


def test_a_producers_envelope_is_plain() -> None:
    assert plain_attributes(orjson.dumps(BASE)) == BASE
    taken = sum(plain_attributes(orjson.dumps(case)) is not None for case in _cases())
    assert taken > 30  # the check is not simply refusing everything


@pytest.mark.parametrize(
    "raw", [None, b"", b"{", b"[]", b"null", b'{"data": NaN}', b'{"id": "\\ud800"}', b"\xff"]
)
def test_values_orjson_refuses_are_not_plain(raw: bytes | None) -> None:
    assert plain_attributes(raw) is None
    with pytest.raises(ValidationError):
        EventEnvelope.model_validate_json(raw or b"")
