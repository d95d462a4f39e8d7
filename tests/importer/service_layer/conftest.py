"""The importer service-layer tests' store: the importer's collections in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from crm_importer.adapters.collections import COLLECTION_SPECS
from crm_shared.storage.memory import MemoryStore
from tests.stores import memory_store


@pytest.fixture
async def store() -> AsyncIterator[MemoryStore]:
    """The importer's collections on the in-memory store, closed after the test."""
    async with memory_store(COLLECTION_SPECS) as memory:
        yield memory
