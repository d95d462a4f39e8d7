"""Stores for tests: one service's collections on the in-memory adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from crm_shared.storage import CollectionSpec
from crm_shared.storage.memory import MemoryStore


@asynccontextmanager
async def memory_store(specs: Sequence[CollectionSpec]) -> AsyncIterator[MemoryStore]:
    """These collections on the in-memory store, closed on leaving."""
    memory = MemoryStore()
    await memory.start(specs)
    try:
        yield memory
    finally:
        await memory.close()
