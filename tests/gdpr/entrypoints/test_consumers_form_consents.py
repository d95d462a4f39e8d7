"""Consents given on a public form enter the ledger from the contacts service's event."""

from __future__ import annotations

import httpx

from crm_gdpr.entrypoints.consumers import GdprBuses
from crm_shared.events import ConsentChanged, FormSubmitted, GivenConsent
from crm_shared.storage import DocumentStore
from tests.conftest import EDITOR_KEY, auth
from tests.gdpr.fakes import ALICE_ID, outbox, wrap


def _submitted(*consents: GivenConsent) -> FormSubmitted:
    return FormSubmitted(
        contact_id=ALICE_ID, form_id="form-1", consents=list(consents), notice_version="2026-01"
    )


async def test_a_forms_consents_are_granted_in_the_ledger_once(
    consumers: GdprBuses, client: httpx.AsyncClient, store: DocumentStore
) -> None:
    event = wrap(
        _submitted(
            GivenConsent(purpose="newsletter", channel="email"), GivenConsent(purpose="events")
        ),
        subject=ALICE_ID,
        actor="form:form-1",
    )
    await consumers.audit.handle(event)
    await consumers.audit.handle(event)  # a redelivery adds nothing

    response = await client.get(f"/v1/contacts/{ALICE_ID}/consents", headers=auth(EDITOR_KEY))
    purposes = {(p["purpose"], p["channel"]): p for p in response.json()["purposes"]}
    assert set(purposes) == {("newsletter", "email"), ("events", "any")}
    [entry] = purposes[("newsletter", "email")]["history"]
    assert entry["status"] == "granted" and entry["lawful_basis"] == "consent"
    assert (entry["source"], entry["notice_version"]) == ("form:form-1", "2026-01")
    assert entry["recorded_by"] == "form:form-1"
    changed = [e for _, _, e in await outbox(store) if e.type == ConsentChanged.event_type]
    assert sorted(e.data["purpose"] for e in changed) == ["events", "newsletter"]
    assert all(e.data["source"] == "form:form-1" for e in changed)


async def test_a_form_without_ticked_consents_records_none(
    consumers: GdprBuses, client: httpx.AsyncClient
) -> None:
    await consumers.audit.handle(wrap(_submitted(), subject=ALICE_ID))
    response = await client.get(f"/v1/contacts/{ALICE_ID}/consents", headers=auth(EDITOR_KEY))
    assert response.json()["purposes"] == []
