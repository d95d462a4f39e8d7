"""The contacts service-layer tests' store: the contacts collections in memory.

A module that runs its tests on other adapters too (SQLite, MongoDB) declares its own `store`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from crm_contacts.adapters.repository import COLLECTION_SPECS
from crm_shared.storage.memory import MemoryStore


@pytest.fixture
async def store() -> AsyncIterator[MemoryStore]:
    """The contacts collections on the in-memory store, closed after the test."""
    memory = MemoryStore()
    await memory.start(COLLECTION_SPECS)
    yield memory
    await memory.close()
