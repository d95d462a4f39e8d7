"""An event audited from its plain JSON gets the entry its validated models give, byte for byte."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from crm_gdpr.domain import audit as audit_module
from crm_gdpr.domain.audit import GENESIS_HASH, ChainWalker, chain_entries
from crm_gdpr.domain.audit_events import AuditedEvent, audit_drafts_many
from crm_shared.envelope import EventEnvelope, PlainEvent, plain_attributes
from crm_shared.events import ContactCreated, ContactUpdated
from crm_shared.events.contacts import plain_contact_created, plain_contact_updated

ODD_TEXT = [
    "Zoë Ångström",
    'quote " backslash \\ slash /',
    "tab\tnewline\n",
    "nul\u0000inside",
    "emoji 🎉 and CJK 漢字",
    "\u2028line separator\u2029",
    "",
]
TIMES = [
    "2026-01-02T03:04:05.123456Z",
    "2026-01-02T03:04:05Z",
    "2026-01-02T03:04:05.1+02:00",
    "2026-12-31T23:59:59.999999-05:30",
]


def _envelope(n: int, event_type: str, data: dict[str, Any], **attributes: Any) -> bytes:
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": f"e-{n}",
            "source": "crm/contacts",
            "type": event_type,
            "time": TIMES[n % len(TIMES)],
            "subject": data["contact_id"],
            "datacontenttype": "application/json",
            "dataschema": None,
            "tenant": "acme",
            "actor": None if n % 3 == 0 else f"import:j-{n}",
            "traceparent": None,
            "data": data,
            **attributes,
        }
    )


def _created(n: int) -> bytes:
    text = ODD_TEXT[n % len(ODD_TEXT)]
    profile: dict[str, Any] = {
        "name": f"{text} {n}",
        "email": f"p{n}@example.com" if n % 2 else None,
        "phone": "+14155550100",
        "company": text or None,
        "timezone": "Europe/Paris" if n % 4 else None,
        "tags": ["customer", text, "imported"] if n % 2 else [],
        "custom_fields": {
            f"k{text}": text,
            "score": n * 1.5,
            "big": 2**40 + n,
            "nested": {"z": [1, None, text], "a": {"b": True}},
        }
        if n % 3
        else {},
        "account_id": f"acc-{n}",
        "external_ids": {"crm": text} if n % 5 else {},
        "sources": ["import"],
        "later_field": "a producer's newer field, ignored",
    }
    if n % 7 == 0:
        profile = {"name": "only a name"}
    data = {
        "contact_id": f"c-{n}",
        "version": 1,
        "source": "import",
        "profile": profile,
        "import_job_id": None if n % 4 == 0 else "j-1",
    }
    return _envelope(n, ContactCreated.event_type, data)


def _updated(n: int) -> bytes:
    text = ODD_TEXT[n % len(ODD_TEXT)]
    changes: dict[str, Any] = {
        "phone": {"before": None, "after": "+14155550100"},
        "name": {"before": text, "after": f"{text}!"},
        "tags": {"before": ["a"], "after": ["a", text]},
        f"custom_fields.{text}": {"before": 1.25, "after": {"x": [n, None]}},
        "company": {},
    }
    data = {
        "contact_id": f"c-{n}",
        "version": 2 + n,
        "changes": changes,
        "import_job_id": None if n % 4 == 1 else "j-1",
    }
    return _envelope(n, ContactUpdated.event_type, data)


RAW = [_created(n) for n in range(40)] + [_updated(n) for n in range(40)]


def _validated(raw: bytes) -> AuditedEvent:
    envelope = EventEnvelope.from_bytes(raw)
    model = ContactCreated if envelope.type == ContactCreated.event_type else ContactUpdated
    return model.model_validate(envelope.data), envelope


def _plain(raw: bytes) -> AuditedEvent:
    attributes = plain_attributes(raw)
    assert attributes is not None
    takes = plain_contact_created if attributes["type"] == ContactCreated.event_type else None
    assert (takes or plain_contact_updated)(attributes["data"])
    return PlainEvent.of(attributes)


def _fixed_salts(count: int) -> Callable[[], bytes]:
    # As many as are drawn, as `salts` gives them; the same sequence for every batch.
    return iter(hashlib.sha256(str(n).encode()).digest()[:16] for n in itertools.count()).__next__


@pytest.fixture
def fixed_salts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_module, "salts", _fixed_salts)


def _entries(events: list[AuditedEvent]) -> list[dict[str, Any]]:
    drafts = audit_drafts_many(events)
    ids = [f"id-{n}" for n in range(len(drafts))]
    return chain_entries(drafts, ids=ids, tenant="acme", after_seq=0, prev_hash=GENESIS_HASH)


@pytest.mark.parametrize("raw", RAW)
def test_one_event_read_plain_gets_the_validated_events_draft(raw: bytes) -> None:
    assert audit_drafts_many([_plain(raw)]) == audit_drafts_many([_validated(raw)])


@pytest.mark.usefixtures("fixed_salts")
def test_a_batch_read_plain_stores_the_same_bytes_and_a_valid_chain() -> None:
    plain = _entries([_plain(raw) for raw in RAW])
    validated = _entries([_validated(raw) for raw in RAW])
    assert orjson.dumps(plain) == orjson.dumps(validated)
    walker = ChainWalker()
    assert all(walker.check(entry) for entry in plain)
    assert walker.report().checked == len(RAW)


@pytest.mark.usefixtures("fixed_salts")
def test_plain_and_validated_events_mixed_in_one_batch_keep_their_order() -> None:
    mixed = [(_plain if n % 2 else _validated)(raw) for n, raw in enumerate(RAW)]
    validated = _entries([_validated(raw) for raw in RAW])
    assert orjson.dumps(_entries(mixed)) == orjson.dumps(validated)


def test_the_parity_cases_cover_what_needs_escaping_and_scrubbing() -> None:
    drafts = audit_drafts_many([_plain(raw) for raw in RAW])
    dumped = orjson.dumps(drafts, default=tuple)
    assert "\ufffd".encode() in dumped  # NUL scrubbed from the entries that held it
    assert "🎉".encode() in dumped and b'\\"' in dumped and b"\\\\" in dumped
    assert {d.action for d in drafts} == {
        "crm.contacts.contacts.imported.v1:created",
        "crm.contacts.contacts.imported.v1:updated",
        ContactCreated.event_type,
        ContactUpdated.event_type,
    }
    assert {d.actor for d in drafts} >= {"crm/contacts", "import:j-1"}
