"""A write conflict is a retryable port error: consumers retry it, HTTP answers 409, never 500."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pymongo.errors import OperationFailure

from crm_shared.http import install_problem_handlers
from crm_shared.storage import CollectionSpec, ConcurrentWriteError
from crm_shared.storage.mongo import MongoStore
from tests.shared.storage.mongo_double import MongoDouble


def _write_conflict() -> OperationFailure:
    return OperationFailure(
        "WriteConflict", code=112, details={"errorLabels": ["TransientTransactionError"]}
    )


async def test_a_mongodb_write_conflict_surfaces_as_a_concurrent_write_error() -> None:
    store = MongoStore("mongodb://in-process-double", "crm_conflicts", client=MongoDouble())
    await store.start([CollectionSpec("things")])
    with pytest.raises(ConcurrentWriteError):
        async with store.transaction() as session:
            await session.insert("things", {"id": "t1", "tenant": "acme"})
            raise _write_conflict()


async def test_other_mongodb_failures_are_not_disguised_as_conflicts() -> None:
    store = MongoStore("mongodb://in-process-double", "crm_conflicts", client=MongoDouble())
    await store.start([CollectionSpec("things")])
    with pytest.raises(OperationFailure):
        async with store.transaction():
            raise OperationFailure("Unauthorized", code=13)


async def test_a_concurrent_write_error_is_a_409_problem() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def create() -> None:
        raise ConcurrentWriteError("write conflict")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/things")
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "retry" in response.json()["detail"]
