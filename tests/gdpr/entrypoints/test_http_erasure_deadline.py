"""A request open past 80% of a (very short) legal deadline shows as overdue in the list."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from crm_gdpr.settings import GdprSettings
from tests.conftest import auth
from tests.gdpr.fakes import ALICE_ID, CONTACTS_URL, TIMELINE_URL

PATH = "/v1/erasure-requests"


@pytest.fixture
def settings(platform_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> GdprSettings:
    """A legal deadline of about a tenth of a second."""
    monkeypatch.setenv("CRM_CONTACTS_URL", CONTACTS_URL)
    monkeypatch.setenv("CRM_TIMELINE_URL", TIMELINE_URL)
    monkeypatch.setenv("GDPR_ERASURE_DAYS", str(0.1 / 86400))
    return GdprSettings()


async def test_overdue_filter_lists_the_late_request_flagged(client: httpx.AsyncClient) -> None:
    created = await client.post(PATH, json={"contact_id": ALICE_ID}, headers=auth())
    assert created.status_code == 202
    await asyncio.sleep(0.2)
    listed = (await client.get(PATH, params={"overdue": "true"}, headers=auth())).json()
    assert [(r["id"], r["overdue"]) for r in listed["items"]] == [(created.json()["id"], True)]
