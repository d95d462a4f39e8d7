"""The importer service-layer tests' store: the importer's collections in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from crm_importer.adapters.collections import COLLECTION_SPECS
from crm_shared.storage.memory import MemoryStore


@pytest.fixture
async def store() -> AsyncIterator[MemoryStore]:
    """The importer's collections on the in-memory store, closed after the test."""
    memory = MemoryStore()
    await memory.start(COLLECTION_SPECS)
    yield memory
    await memory.close()
