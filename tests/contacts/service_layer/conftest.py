"""The contacts service-layer tests' store: the contacts collections in memory.

A module that runs its tests on other adapters too (SQLite, MongoDB) declares its own `store`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_shared.storage.memory import MemoryStore
from tests.stores import memory_store


@pytest.fixture
async def store() -> AsyncIterator[MemoryStore]:
    """The contacts collections on the in-memory store, closed after the test."""
    async with memory_store(COLLECTION_SPECS) as memory:
        yield memory
