"""An import batch is applied with the cyclic collector paused, and it runs again after."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from crm_contacts.adapters.repository import ContactRepository
from crm_shared.events import ImportBatchProcessed
from crm_shared.storage import ConcurrentWriteError
from tests.contacts.helpers import Harness, envelope, import_batch

# The collector running, as in a service (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("collector_enabled")


async def test_a_batch_writes_with_the_collector_paused_and_it_runs_again_after(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    add_many = ContactRepository.add_many

    async def recording(self: ContactRepository, docs: list[dict[str, Any]]) -> None:
        seen.append(gc.isenabled())
        await add_many(self, docs)

    monkeypatch.setattr(ContactRepository, "add_many", recording)
    await harness.handle(envelope(import_batch([{"name": "Ada"}, {"name": "Grace"}])))

    assert seen == [False]
    assert gc.isenabled()
    [event] = await harness.outbox(ImportBatchProcessed.event_type)
    assert [r["status"] for r in event.data["results"]] == ["created", "created"]


async def test_the_collector_runs_again_after_a_batch_that_fails_to_be_retried(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def conflict(self: ContactRepository, docs: list[dict[str, Any]]) -> None:
        raise ConcurrentWriteError("another write committed first")

    monkeypatch.setattr(ContactRepository, "add_many", conflict)
    with pytest.raises(ConcurrentWriteError):
        await harness.handle(envelope(import_batch([{"name": "Ada"}])))

    assert gc.isenabled()
