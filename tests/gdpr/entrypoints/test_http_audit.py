"""`/v1/audit-log` and its verification: paging, filters, roles, tampering."""

from __future__ import annotations

import base64

import httpx
import pytest

from crm_gdpr.adapters.repositories import AUDIT_ENTRIES
from crm_gdpr.entrypoints.consumers import GdprBuses
from crm_shared.events import ContactDeleted
from crm_shared.storage import DocumentStore, Eq
from tests.conftest import EDITOR_KEY, OTHER_TENANT_KEY, VIEWER_KEY, auth
from tests.gdpr.fakes import wrap


async def _audit(consumers: GdprBuses, *contact_ids: str, tenant: str = "acme") -> None:
    for contact_id in contact_ids:
        data = ContactDeleted(contact_id=contact_id, version=2)
        await consumers.audit.handle(wrap(data, tenant=tenant, subject=contact_id))


async def _verify(client: httpx.AsyncClient, key: str | None = None) -> dict[str, object]:
    response = await client.get("/v1/audit-log/verify", headers=auth(key) if key else auth())
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_audit_log_without_a_key_is_unauthorized(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/audit-log")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_audit_log_needs_admin(client: httpx.AsyncClient) -> None:
    for key in (EDITOR_KEY, VIEWER_KEY):
        response = await client.get("/v1/audit-log", headers=auth(key))
        assert response.status_code == 403
        assert response.json()["required_role"] == "admin"


async def test_verify_needs_admin(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/audit-log/verify", headers=auth(EDITOR_KEY))
    assert response.status_code == 403


async def test_audit_log_filters_by_contact(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    await _audit(consumers, "c1", "c2", "c1")
    response = await client.get("/v1/audit-log", params={"contact_id": "c1"}, headers=auth())
    assert [(e["seq"], e["target"]) for e in response.json()["items"]] == [(1, "c1"), (3, "c1")]


async def test_audit_log_pages_oldest_first_with_a_cursor(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    await _audit(consumers, "c1", "c2", "c3", "c4", "c5")
    seen: list[int] = []
    cursor: str | None = None
    for _ in range(5):
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        body = (await client.get("/v1/audit-log", params=params, headers=auth())).json()
        seen += [e["seq"] for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [1, 2, 3, 4, 5]


async def test_last_page_has_no_next_cursor(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    await _audit(consumers, "c1", "c2")
    body = (await client.get("/v1/audit-log", params={"limit": "2"}, headers=auth())).json()
    assert body["next_cursor"] is None


async def test_foreign_cursor_is_a_bad_request(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/audit-log", params={"cursor": "!!nope"}, headers=auth())
    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        _b64("seq:²".encode()),
        _b64(b"seq:99999999999999999999999"),
        _b64('["²"]'.encode()),
        _b64(b"[99999999999999999999999]"),
        _b64(b"[18446744073709551615]"),
        _b64(b"\xff\xfe"),
    ],
    ids=["old-superscript", "old-huge", "superscript", "beyond-64-bits", "u64-max", "non-utf8"],
)
async def test_a_cursor_with_a_number_no_seq_can_hold_is_a_400_not_a_500(
    client: httpx.AsyncClient, consumers: GdprBuses, cursor: str
) -> None:
    await _audit(consumers, "c1")
    response = await client.get("/v1/audit-log", params={"cursor": cursor}, headers=auth())
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "cursor" in response.json()["detail"]


async def test_limit_out_of_range_is_rejected(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/audit-log", params={"limit": "0"}, headers=auth())
    assert response.status_code == 422
    assert "limit" in response.json()["detail"]


async def test_other_tenants_entries_are_invisible(
    client: httpx.AsyncClient, consumers: GdprBuses
) -> None:
    await _audit(consumers, "c1", "c2")
    response = await client.get("/v1/audit-log", headers=auth(OTHER_TENANT_KEY))
    assert response.json()["items"] == []
    assert await _verify(client, OTHER_TENANT_KEY) == {
        "valid": True,
        "checked": 0,
        "first_broken_seq": None,
    }


async def test_untouched_chain_verifies(client: httpx.AsyncClient, consumers: GdprBuses) -> None:
    await _audit(consumers, "c1", "c2", "c3")
    assert await _verify(client) == {"valid": True, "checked": 3, "first_broken_seq": None}


async def test_verify_finds_an_entry_tampered_in_the_store(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    await _audit(consumers, "c1", "c2", "c3", "c4")
    async with store.transaction() as session:
        [entry] = await session.find(AUDIT_ENTRIES, tenant="acme", where=[Eq("seq", 2)])
        await session.replace(AUDIT_ENTRIES, {**entry, "fields": ["email"]})
    report = await _verify(client)
    assert report["valid"] is False
    assert report["first_broken_seq"] == 2


async def test_verify_finds_a_deleted_entry(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    await _audit(consumers, "c1", "c2", "c3")
    async with store.transaction() as session:
        await session.delete_where(AUDIT_ENTRIES, tenant="acme", where=[Eq("seq", 2)])
    report = await _verify(client)
    assert (report["valid"], report["first_broken_seq"]) == (False, 3)


async def test_tampering_in_one_tenant_leaves_the_other_valid(
    client: httpx.AsyncClient, consumers: GdprBuses, store: DocumentStore
) -> None:
    await _audit(consumers, "c1")
    await _audit(consumers, "g1", tenant="globex")
    async with store.transaction() as session:
        [entry] = await session.find(AUDIT_ENTRIES, tenant="acme")
        await session.replace(AUDIT_ENTRIES, {**entry, "actor": "forged"})
    assert (await _verify(client))["valid"] is False
    assert (await _verify(client, OTHER_TENANT_KEY))["valid"] is True
