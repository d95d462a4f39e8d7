"""One row that cannot be stored fails alone with its reason; the rest of its batch commits."""

from __future__ import annotations

from typing import Any

import pytest

from crm_contacts.adapters.repository import ContactRepository
from crm_contacts.domain.contact_policy import ContactPolicy
from crm_shared.events import ImportBatchProcessed
from crm_shared.storage import ConcurrentWriteError
from crm_shared.validation import TEXT_RULE
from tests.conftest import EDITOR_KEY, auth
from tests.contacts.custom_field_support import define_field
from tests.contacts.helpers import Harness, envelope, import_batch

TOO_BIG = "100000000000000000000"  # above the signed 64-bit range every store holds


async def _results(harness: Harness) -> list[dict[str, Any]]:
    [event] = await harness.outbox(ImportBatchProcessed.event_type)
    return list(event.data["results"])


async def test_a_number_above_64_bits_is_left_out_of_its_row_and_the_batch_commits(
    harness: Harness,
) -> None:
    await define_field(harness, "seats", "number")
    rows = [
        {"name": f"Person {n}", "custom_fields": {"seats": TOO_BIG if n == 701 else str(n)}}
        for n in range(1, 1001)
    ]
    await harness.handle(envelope(import_batch(rows)))
    results = await _results(harness)
    warned = [r for r in results if r["warnings"]]
    assert [r["row_number"] for r in warned] == [701]
    assert "custom_fields.seats" in warned[0]["warnings"][0]
    assert TOO_BIG not in warned[0]["warnings"][0]
    assert sum(r["status"] == "created" for r in results) == 1000


async def test_an_api_value_above_64_bits_is_a_422_naming_the_field(harness: Harness) -> None:
    await define_field(harness, "seats", "number")
    response = await harness.client.post(
        "/v1/contacts",
        json={"name": "Ada", "custom_fields": {"seats": 10**20}},
        headers=auth(EDITOR_KEY),
    )
    assert response.status_code == 422, response.text
    assert "custom_fields.seats" in response.json()["detail"]


async def test_a_batch_whose_write_fails_for_good_reports_every_row_failed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def overflow(self: ContactRepository, docs: list[dict[str, Any]]) -> None:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    monkeypatch.setattr(ContactRepository, "add_many", overflow)
    command = envelope(import_batch([{"name": "Ada"}, {"name": "Grace"}]))
    await harness.handle(command)
    results = await _results(harness)
    assert [(r["row_number"], r["status"]) for r in results] == [(1, "failed"), (2, "failed")]
    assert all("could not be stored (OverflowError)" in r["error"] for r in results)
    # Handled once: a redelivery reports nothing twice.
    await harness.handle(command)
    assert len(await harness.outbox(ImportBatchProcessed.event_type)) == 1


async def test_a_cell_holding_nul_is_left_out_or_fails_a_row_left_nameless(
    harness: Harness,
) -> None:
    rows = [{"name": "Ada"}, {"name": "Gr\x00ce"}, {"name": "Alan", "company": "Blet\x00chley"}]
    await harness.handle(envelope(import_batch(rows)))
    results = await _results(harness)
    assert [r["status"] for r in results] == ["created", "failed", "created"]
    assert results[1]["error"].startswith("row 2: name must not contain NUL")
    assert results[2]["warnings"][0].startswith("company must not contain NUL")


async def test_a_write_conflict_is_retried_not_reported(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def conflict(self: ContactRepository, docs: list[dict[str, Any]]) -> None:
        raise ConcurrentWriteError("another write committed first")

    monkeypatch.setattr(ContactRepository, "add_many", conflict)
    with pytest.raises(ConcurrentWriteError):
        await harness.handle(envelope(import_batch([{"name": "Ada"}])))
    # Nothing recorded: the redelivery applies the batch once the conflict is gone.
    assert await harness.outbox(ImportBatchProcessed.event_type) == []


async def test_a_document_the_write_refuses_fails_its_row_alone_when_the_batch_is_planned_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A value validation let through that no store can hold (a lone surrogate): the first
    # write of the batch is refused, and the batch is planned again checking each document.
    checked = ContactPolicy.check_create

    def let_through(self: ContactPolicy, profile: Any, **options: Any) -> dict[str, Any]:
        valid = checked(self, profile, **options)
        return valid | {"company": "\ud800"} if valid["name"] == "Grace" else valid

    monkeypatch.setattr(ContactPolicy, "check_create", let_through)
    await harness.handle(envelope(import_batch([{"name": "Ada"}, {"name": "Grace"}])))

    results = await _results(harness)
    assert [r["status"] for r in results] == ["created", "failed"]
    assert results[1]["error"] == f"row 2: company: {TEXT_RULE} (cannot be stored)"
    async with harness.app.state.store.reader() as session:
        assert await session.count("contacts", tenant="acme") == 1
