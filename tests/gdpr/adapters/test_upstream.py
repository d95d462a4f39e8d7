"""The contacts and timeline clients: status mapping, credential forwarding, paging."""

from __future__ import annotations

import httpx
import pytest

from crm_gdpr.adapters.upstream import ContactsApi, TimelineApi
from crm_gdpr.domain.errors import ContactErased, ServiceUnavailable
from crm_shared.problems import NotFound
from tests.conftest import ADMIN_KEY, OTHER_TENANT_KEY, auth
from tests.gdpr.fakes import ALICE, ALICE_ID, CONTACTS_URL, TIMELINE_URL, FakeUpstream


@pytest.fixture
def upstream() -> FakeUpstream:
    fake = FakeUpstream(timeline_page_size=2)
    fake.add_contact("acme", dict(ALICE))
    fake.timeline[("acme", ALICE_ID)] = [{"id": f"a{n}"} for n in range(5)]
    return fake


def _contacts(upstream: FakeUpstream, key: str = ADMIN_KEY) -> ContactsApi:
    http = httpx.AsyncClient(transport=upstream.transport())
    return ContactsApi(http, CONTACTS_URL, auth(key)["Authorization"])


async def test_contact_lookup_forwards_the_callers_authorization(upstream: FakeUpstream) -> None:
    contact = await _contacts(upstream).get_contact(ALICE_ID)
    assert contact["id"] == ALICE_ID
    assert upstream.requests[0].headers["authorization"] == f"Bearer {ADMIN_KEY}"


async def test_contact_of_another_tenant_is_not_found(upstream: FakeUpstream) -> None:
    with pytest.raises(NotFound):
        await _contacts(upstream, OTHER_TENANT_KEY).get_contact(ALICE_ID)


async def test_gone_contact_is_a_conflict(upstream: FakeUpstream) -> None:
    upstream.erased.add(("acme", ALICE_ID))
    with pytest.raises(ContactErased) as caught:
        await _contacts(upstream).get_contact(ALICE_ID)
    assert caught.value.status == 409


async def test_unreachable_contacts_service_is_unavailable(upstream: FakeUpstream) -> None:
    upstream.unreachable = True
    with pytest.raises(ServiceUnavailable) as caught:
        await _contacts(upstream).get_contact(ALICE_ID)
    assert caught.value.status == 503


async def test_contact_id_cannot_escape_the_path(upstream: FakeUpstream) -> None:
    with pytest.raises(NotFound):
        await _contacts(upstream).get_contact("../admin")
    assert upstream.requests[0].url.raw_path == b"/v1/contacts/..%2Fadmin"


async def test_timeline_follows_every_page(upstream: FakeUpstream) -> None:
    http = httpx.AsyncClient(transport=upstream.transport())
    timeline = TimelineApi(http, TIMELINE_URL, auth(ADMIN_KEY)["Authorization"])
    items = await timeline.all_activities(ALICE_ID)
    assert [i["id"] for i in items] == ["a0", "a1", "a2", "a3", "a4"]
    assert len(upstream.requests) == 3


async def test_timeline_with_too_many_pages_is_refused(upstream: FakeUpstream) -> None:
    http = httpx.AsyncClient(transport=upstream.transport())
    timeline = TimelineApi(http, TIMELINE_URL, auth(ADMIN_KEY)["Authorization"], max_pages=2)
    with pytest.raises(ServiceUnavailable):
        await timeline.all_activities(ALICE_ID)
