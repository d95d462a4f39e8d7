"""A started store for every adapter of the storage port, so one contract suite covers them all.

SQLite and the in-memory store always run. MongoDB runs against MONGODB_URI when it is set (a
replica set: the adapter needs transactions), else in a single-node replica set started with
testcontainers when a Docker engine answers, and is skipped otherwise, saying why.
"mongodb-double" always runs the MongoDB adapter over an in-process double of PyMongo
(mongo_double.py); it has no transactions, so tests marked `needs_transactions` are skipped there
and only checked against a real MongoDB.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from crm_shared.idempotency_records import IDEMPOTENCY_COLLECTION
from crm_shared.rate_limit_store import RATE_LIMIT_COLLECTION
from crm_shared.storage import CollectionSpec, DocumentStore, Empty, Index
from crm_shared.storage.sqlite import SqliteStore
from tests.shared.storage.derived_cards import CARDS_SPEC
from tests.stores import memory_store

STAMPED_SPEC = CollectionSpec(
    "stamped",
    indexes=(Index(("at",)), Index(("until",), sparse=True), Index(("kind", "at"))),
    empties=(Empty("until"),),
    timestamps=("at", "until"),
)

SPECS = (
    CollectionSpec(
        "contacts",
        indexes=(
            Index(("email",), unique=True),
            Index(("last_name",)),
            Index(("tags",)),
            # Indexed value by value: SQLite keeps side-table entries, MongoDB multikey/wildcard.
            Index(("labels",), multi_value="array"),
            Index(("attrs",), multi_value="object"),
            Index(("rank",)),
            # A substring index for TextMatch: SQLite keeps an FTS5 trigram table.
            Index(("search",), text=True),
        ),
    ),
    CollectionSpec("notes"),
    # Documents whose fields are mostly empty: a store may leave those out of what it writes.
    CollectionSpec(
        "people",
        indexes=(Index(("owner",)), Index(("labels",), multi_value="array")),
        empties=(
            Empty("owner"),
            Empty("deleted_at"),
            Empty("labels", "list"),
            Empty("links", "map"),
        ),
    ),
    # Fields the store derives for its indexes (test_store_derived.py).
    CARDS_SPEC,
    # Declared timestamps (test_store_timestamps.py): SQLite stores them as integers.
    STAMPED_SPEC,
    # For the idempotency contract (test_idempotent_work.py): keys commit with the work.
    IDEMPOTENCY_COLLECTION,
    # For the shared rate-limit buckets (test_rate_limit_buckets.py).
    RATE_LIMIT_COLLECTION,
)

MONGO_IMAGE = "mongo:7.0"


def _docker_unreachable_reason() -> str | None:
    """None when a Docker engine answers a ping, else why not (fast: no container is started)."""
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return "DOCKER_HOST not set and /var/run/docker.sock does not exist"
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _start_replica_set() -> Iterator[str]:
    """Run mongod as a single-node replica set in a container; yield a direct connection URI."""
    from pymongo import MongoClient
    from testcontainers.core.container import DockerContainer

    # No credentials: the image turns them into --auth, which a replica set only accepts with
    # a keyFile. The member's host name only has to make sense inside the container, because
    # the tests connect directly to it.
    container = DockerContainer(MONGO_IMAGE).with_command("--replSet rs0 --bind_ip_all")
    container.with_exposed_ports(27017)
    with container:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(27017)
        uri = f"mongodb://{host}:{port}/?directConnection=true"
        client: MongoClient[dict[str, object]] = MongoClient(uri, serverSelectionTimeoutMS=60_000)
        with client:
            client.admin.command(
                "replSetInitiate",
                {"_id": "rs0", "members": [{"_id": 0, "host": "localhost:27017"}]},
            )
            deadline = time.monotonic() + 60
            while not client.admin.command("hello").get("isWritablePrimary"):
                if time.monotonic() > deadline:
                    raise TimeoutError("the single-node replica set elected no primary in 60 s")
                time.sleep(0.2)
        yield uri


@pytest.fixture(scope="session")
def mongodb_uri() -> Iterator[str]:
    """MONGODB_URI if set, else a throwaway replica set in Docker, else skip with the reason."""
    uri = os.environ.get("MONGODB_URI")
    if uri:
        yield uri
        return
    reason = _docker_unreachable_reason()
    if reason is not None:
        pytest.skip(f"MONGODB_URI not set and no Docker engine reachable: {reason}")
    yield from _start_replica_set()


NO_TRANSACTIONS = "the in-process pymongo double has no transactions; runs against a real MongoDB"


@pytest.fixture(params=["sqlite", "memory", "mongodb", "mongodb-double"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DocumentStore]:
    """A started store of each adapter, empty, with SPECS' collections and indexes."""
    if request.param == "memory":
        async with memory_store(SPECS) as memory:
            yield memory
        return
    if request.param == "sqlite":
        sqlite = SqliteStore(tmp_path / "store.db")
        await sqlite.start(SPECS)
        try:
            yield sqlite
        finally:
            await sqlite.close()
        return

    from pymongo import AsyncMongoClient

    from crm_shared.storage.mongo import MongoStore

    if request.param == "mongodb-double":
        if request.node.get_closest_marker("needs_transactions") is not None:
            pytest.skip(NO_TRANSACTIONS)
        from tests.shared.storage.mongo_double import MongoDouble

        double = MongoStore("mongodb://in-process-double", "crm_contract", client=MongoDouble())
        await double.start(SPECS)
        try:
            yield double
        finally:
            await double.close()
        return

    uri: str = request.getfixturevalue("mongodb_uri")
    database = f"crm_contract_{uuid.uuid4().hex[:16]}"
    mongo = MongoStore(uri, database)
    await mongo.start(SPECS)
    try:
        yield mongo
    finally:
        await mongo.close()
        admin: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(uri)
        try:
            await admin.drop_database(database)
        finally:
            await admin.close()
