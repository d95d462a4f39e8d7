"""The storage port's contract, run over every adapter by the parametrized `store` fixture."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from crm_shared.envelope import EventData, EventEnvelope
from crm_shared.ids import new_id
from crm_shared.storage import (
    Contains,
    ContainsAny,
    Cursor,
    DocumentStore,
    DuplicateKeyError,
    Eq,
    In,
    Not,
    OutgoingEvent,
    Range,
    TextMatch,
    Where,
    scan,
)
from crm_shared.storage.port import mark_processed_many, path_value

T1 = "tenant-a"
T2 = "tenant-b"


class Pinged(EventData):
    """A throwaway event type for the outbox tests."""

    event_type: ClassVar[str] = "test.pinged.v1"
    topic: ClassVar[str] = "test.pings"
    n: int


class Boom(Exception):
    """Raised inside a transaction to make it roll back."""


def doc(tenant: str = T1, **fields: Any) -> dict[str, Any]:
    return {"id": new_id(), "tenant": tenant, "version": 1, **fields}


def outgoing(n: int, key: str | None = "contact-1") -> OutgoingEvent:
    envelope = EventEnvelope.wrap(Pinged(n=n), source="contract-tests", tenant=T1, subject=key)
    return OutgoingEvent(topic=Pinged.topic, key=key, envelope=envelope)


async def insert(store: DocumentStore, collection: str, *docs: dict[str, Any]) -> None:
    async with store.transaction() as session:
        await session.insert_many(collection, list(docs))


async def get(store: DocumentStore, collection: str, d: dict[str, Any]) -> dict[str, Any] | None:
    async with store.reader() as session:
        return await session.get(collection, tenant=d["tenant"], id=d["id"])


async def matching_ids(store: DocumentStore, *where: Where) -> set[str]:
    async with store.reader() as session:
        found = await session.find("contacts", tenant=T1, where=where, limit=1000)
        assert await session.count("contacts", tenant=T1, where=where) == len(found)
    return {d["id"] for d in found}


# --- documents --------------------------------------------------------------------------------


async def test_inserted_document_reads_back_equal_without_storage_fields(
    store: DocumentStore,
) -> None:
    ada = doc(
        first_name="Ada",
        score=3.5,
        visits=7,
        active=True,
        archived=False,
        nickname=None,
        tags=["vip", "math"],
        address={"city": "London", "lines": ["12 St James's Square"]},
    )
    snapshot = dict(ada)
    async with store.transaction() as session:
        await session.insert("contacts", ada)
        assert await session.get("contacts", tenant=T1, id=ada["id"]) == snapshot
    assert ada == snapshot, "insert must not modify the caller's dict"
    assert await get(store, "contacts", ada) == snapshot
    async with store.reader() as session:
        assert await session.find("contacts", tenant=T1) == [snapshot]
        assert await session.get("contacts", tenant=T1, id=new_id()) is None


async def test_tenants_lists_each_tenant_holding_documents_once_in_order(
    store: DocumentStore,
) -> None:
    async with store.reader() as session:
        assert await session.tenants("contacts") == []
    await insert(store, "contacts", doc(T2), doc(T1), doc(T2), doc(""))
    async with store.reader() as session:
        assert await session.tenants("contacts") == ["", T1, T2]
    async with store.transaction() as session:
        await session.delete_where("contacts", tenant=T2, where=())
        assert await session.tenants("contacts") == ["", T1]


async def test_insert_many_with_no_documents_does_nothing(store: DocumentStore) -> None:
    await insert(store, "contacts")
    async with store.reader() as session:
        assert await session.count("contacts", tenant=T1) == 0


async def test_another_tenant_can_neither_read_nor_change_a_document(
    store: DocumentStore,
) -> None:
    ada = doc(T1, email="ada@example.org")
    await insert(store, "contacts", ada)
    async with store.transaction() as session:
        assert await session.get("contacts", tenant=T2, id=ada["id"]) is None
        assert await session.find("contacts", tenant=T2) == []
        assert await session.find("contacts", tenant=T2, where=[Eq("id", ada["id"])]) == []
        assert await session.count("contacts", tenant=T2) == 0
        assert await session.replace("contacts", {**ada, "tenant": T2, "email": "x"}) is False
        assert await session.delete("contacts", tenant=T2, id=ada["id"]) is False
        assert await session.delete_where("contacts", tenant=T2, where=[]) == 0
    assert [d async for d in scan(store, "contacts", tenant=T2)] == []
    assert await get(store, "contacts", ada) == ada


# --- conditions -------------------------------------------------------------------------------


@pytest.fixture
async def people(store: DocumentStore) -> dict[str, dict[str, Any]]:
    people = {
        "ada": doc(
            first_name="Ada",
            last_name="lovelace",
            nickname="countess",
            age=36,
            tags=["vip", "math"],
            address={"city": "London"},
            search="ada lovelace axb 50% off",
        ),
        "alan": doc(
            first_name="Alan",
            last_name="turing",
            nickname="prof",
            age=41,
            tags=["math"],
            address={"city": "Wilmslow"},
            search="alan turing a_b xzy",
        ),
        "grace": doc(
            first_name="Grace",
            last_name="hopper",
            nickname=None,
            age=85,
            tags=[],
            search="grace hopper x.y",
        ),
        "linus": doc(first_name="Linus", age=21, search="Linus"),
    }
    await insert(store, "contacts", *people.values(), doc(T2, first_name="Ada", age=36))
    return people


def ids(people: dict[str, dict[str, Any]], *names: str) -> set[str]:
    return {people[name]["id"] for name in names}


async def test_eq_matches_equal_values_and_none_matches_missing_or_null(
    store: DocumentStore, people: dict[str, dict[str, Any]]
) -> None:
    assert await matching_ids(store, Eq("first_name", "Ada")) == ids(people, "ada")
    assert await matching_ids(store, Eq("age", 41)) == ids(people, "alan")
    assert await matching_ids(store, Eq("address.city", "London")) == ids(people, "ada")
    assert await matching_ids(store, Eq("id", people["grace"]["id"])) == ids(people, "grace")
    assert await matching_ids(store, Eq("nickname", None)) == ids(people, "grace", "linus")
    assert await matching_ids(store, Eq("first_name", "Nobody")) == set()


async def test_in_matches_any_listed_value_and_nothing_when_empty(
    store: DocumentStore, people: dict[str, dict[str, Any]]
) -> None:
    found = await matching_ids(store, In("last_name", ("turing", "hopper", "nobody")))
    assert found == ids(people, "alan", "grace")
    assert await matching_ids(store, In("last_name", ())) == set()
    found = await matching_ids(store, In("nickname", (None, "countess")))
    assert found == ids(people, "ada", "grace", "linus")


async def test_contains_matches_arrays_holding_the_value(
    store: DocumentStore, people: dict[str, dict[str, Any]]
) -> None:
    assert await matching_ids(store, Contains("tags", "math")) == ids(people, "ada", "alan")
    assert await matching_ids(store, Contains("tags", "vip")) == ids(people, "ada")
    assert await matching_ids(store, Contains("tags", "nope")) == set()


async def test_text_match_is_a_case_sensitive_literal_substring(
    store: DocumentStore, people: dict[str, dict[str, Any]]
) -> None:
    assert await matching_ids(store, TextMatch("search", "lovelace")) == ids(people, "ada")
    assert await matching_ids(store, TextMatch("search", "Linus")) == ids(people, "linus")
    assert await matching_ids(store, TextMatch("search", "linus")) == set()
    assert await matching_ids(store, TextMatch("search", "Ada")) == set()
    # Wildcards of LIKE and of regular expressions are plain characters.
    assert await matching_ids(store, TextMatch("search", "50%")) == ids(people, "ada")
    assert await matching_ids(store, TextMatch("search", "a_b")) == ids(people, "alan")
    assert await matching_ids(store, TextMatch("search", "x.y")) == ids(people, "grace")


async def test_range_honours_each_bound_inclusive_or_exclusive(
    store: DocumentStore, people: dict[str, dict[str, Any]]
) -> None:
    assert await matching_ids(store, Range("age", gte=36, lte=41)) == ids(people, "ada", "alan")
    assert await matching_ids(store, Range("age", gt=36, lt=85)) == ids(people, "alan")
    assert await matching_ids(store, Range("age", gt=21)) == ids(people, "ada", "alan", "grace")
    assert await matching_ids(store, Range("age", lt=36)) == ids(people, "linus")
    assert await matching_ids(store, Range("last_name", gte="l")) == ids(people, "ada", "alan")
    assert await matching_ids(store, Range("age")) == ids(people, "ada", "alan", "grace", "linus")


async def test_conditions_all_apply_even_on_the_same_field(
    store: DocumentStore, people: dict[str, dict[str, Any]]
) -> None:
    both = await matching_ids(store, Range("age", gte=30), Range("age", lt=50))
    assert both == ids(people, "ada", "alan")
    found = await matching_ids(store, Contains("tags", "math"), Eq("first_name", "Alan"))
    assert found == ids(people, "alan")
    assert await matching_ids(store, Eq("age", 36), Eq("age", 41)) == set()


async def test_contains_any_matches_arrays_holding_one_of_the_values(
    store: DocumentStore, people: dict[str, dict[str, Any]]
) -> None:
    assert await matching_ids(store, ContainsAny("tags", ("vip", "nope"))) == ids(people, "ada")
    found = await matching_ids(store, ContainsAny("tags", ("vip", "math")))
    assert found == ids(people, "ada", "alan")
    assert await matching_ids(store, ContainsAny("tags", ())) == set()


async def test_not_negates_a_condition_and_matches_documents_lacking_the_field(
    store: DocumentStore, people: dict[str, dict[str, Any]]
) -> None:
    everyone = ids(people, "ada", "alan", "grace", "linus")
    assert await matching_ids(store, Not(Contains("tags", "math"))) == ids(people, "grace", "linus")
    assert await matching_ids(store, Not(Eq("last_name", "turing"))) == everyone - ids(
        people, "alan"
    )
    assert await matching_ids(store, Not(Range("age", gte=40))) == ids(people, "ada", "linus")
    assert await matching_ids(store, Not(Eq("nickname", None))) == ids(people, "ada", "alan")
    assert await matching_ids(store, Not(ContainsAny("tags", ()))) == everyone
    assert await matching_ids(store, Not(Range("age"))) == set()
    assert await matching_ids(store, Not(Not(Eq("age", 41)))) == ids(people, "alan")


# --- multi-value indexes (labels: "array", attrs: "object") -----------------------------------


@pytest.fixture
async def labelled(store: DocumentStore) -> dict[str, dict[str, Any]]:
    labelled = {
        "ada": doc(
            labels=["vip", "math", "vip"],
            attrs={"plan": "pro", "seats": 12, "langs": ["en", "fr"], "beta": True},
        ),
        "alan": doc(labels=["math"], attrs={"plan": "free", "seats": 1.5, "langs": ["en"]}),
        "grace": doc(labels=[], attrs={"plan": "pro", "seats": 80, "beta": False}),
        "linus": doc(attrs={"plan": None, "langs": "fi"}),
        "kay": doc(labels="vip"),
    }
    await insert(
        store, "contacts", *labelled.values(), doc(T2, labels=["vip"], attrs={"plan": "pro"})
    )
    return labelled


async def test_array_index_serves_contains_contains_any_and_their_negation(
    store: DocumentStore, labelled: dict[str, dict[str, Any]]
) -> None:
    # A scalar counts as a one-element array for Contains, as in MongoDB.
    assert await matching_ids(store, Contains("labels", "vip")) == ids(labelled, "ada", "kay")
    assert await matching_ids(store, Contains("labels", "math")) == ids(labelled, "ada", "alan")
    found = await matching_ids(store, ContainsAny("labels", ("vip", "math", "none")))
    assert found == ids(labelled, "ada", "alan", "kay")
    assert await matching_ids(store, ContainsAny("labels", ())) == set()
    found = await matching_ids(store, Not(Contains("labels", "math")))
    assert found == ids(labelled, "grace", "linus", "kay")


async def test_object_index_serves_equality_ranges_and_contains_on_sub_fields(
    store: DocumentStore, labelled: dict[str, dict[str, Any]]
) -> None:
    assert await matching_ids(store, Eq("attrs.plan", "pro")) == ids(labelled, "ada", "grace")
    assert await matching_ids(store, Eq("attrs.plan", None)) == ids(labelled, "linus", "kay")
    assert await matching_ids(store, Eq("attrs.seats", 12.0)) == ids(labelled, "ada")
    assert await matching_ids(store, Eq("attrs.beta", True)) == ids(labelled, "ada")
    assert await matching_ids(store, Eq("attrs.beta", False)) == ids(labelled, "grace")
    assert await matching_ids(store, Range("attrs.seats", gte=1.5, lt=80)) == ids(
        labelled, "ada", "alan"
    )
    assert await matching_ids(store, Contains("attrs.langs", "fr")) == ids(labelled, "ada")
    found = await matching_ids(store, ContainsAny("attrs.langs", ("en", "fi")))
    assert found == ids(labelled, "ada", "alan", "linus")
    found = await matching_ids(store, Eq("attrs.plan", "pro"), Contains("labels", "math"))
    assert found == ids(labelled, "ada")


async def test_multi_value_index_follows_replaced_and_deleted_documents(
    store: DocumentStore, labelled: dict[str, dict[str, Any]]
) -> None:
    ada, alan = labelled["ada"], labelled["alan"]
    async with store.transaction() as session:
        await session.replace("contacts", {**ada, "labels": ["math"], "attrs": {"plan": "free"}})
        await session.replace("contacts", {**alan, "labels": ["vip"]})
        await session.delete("contacts", tenant=T1, id=labelled["grace"]["id"])
    assert await matching_ids(store, Contains("labels", "vip")) == ids(labelled, "alan", "kay")
    assert await matching_ids(store, Contains("labels", "math")) == ids(labelled, "ada")
    assert await matching_ids(store, Eq("attrs.plan", "pro")) == set()
    assert await matching_ids(store, Eq("attrs.plan", "free")) == ids(labelled, "ada", "alan")
    assert await matching_ids(store, Contains("attrs.langs", "fr")) == set()
    async with store.transaction() as session:
        removed = await session.delete_where(
            "contacts", tenant=T1, where=[Eq("attrs.plan", "free")]
        )
    assert removed == 2
    assert await matching_ids(store, ContainsAny("labels", ("vip", "math"))) == ids(labelled, "kay")


# --- ordering and keyset pagination -----------------------------------------------------------


def _expected_order(
    docs: list[dict[str, Any]], order_by: str, descending: bool
) -> list[dict[str, Any]]:
    def key(d: dict[str, Any]) -> tuple[Any, ...]:
        value = path_value(d, order_by)
        # Missing and null values sort before every other value, as in both databases.
        return (0, 0, d["id"]) if value is None else (1, value, d["id"])

    return sorted(docs, key=key, reverse=descending)


async def _all_pages(
    store: DocumentStore, order_by: str, descending: bool, where: list[Where], page_size: int
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    after: Cursor | None = None
    for _ in range(100):
        async with store.reader() as session:
            page = await session.find(
                "contacts",
                tenant=T1,
                where=where,
                order_by=order_by,
                descending=descending,
                limit=page_size,
                after=after,
            )
        assert len(page) <= page_size
        seen.extend(page)
        if len(page) < page_size:
            return seen
        after = Cursor(value=path_value(page[-1], order_by), id=page[-1]["id"])
    raise AssertionError("pagination never ended")


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("order_by", ["rank", "profile.rank", "id"])
async def test_keyset_pages_return_every_document_once_in_order_despite_ties(
    store: DocumentStore, order_by: str, descending: bool
) -> None:
    ranks = [2, 1, 3, 1, 2, 1, 3, 2, 1, 2, 3, 1]
    docs = [doc(kind="person", rank=r, profile={"rank": -r}) for r in ranks]
    others = [doc(kind="org", rank=1, profile={"rank": -1}), doc(T2, kind="person", rank=1)]
    await insert(store, "contacts", *docs, *others)

    seen = await _all_pages(store, order_by, descending, [Eq("kind", "person")], page_size=5)

    assert [d["id"] for d in seen] == [d["id"] for d in _expected_order(docs, order_by, descending)]
    assert seen == _expected_order(docs, order_by, descending)


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
async def test_keyset_pages_include_documents_missing_the_sort_field(
    store: DocumentStore, descending: bool
) -> None:
    docs = [doc(last_name=name) for name in ("b", "a", "c", "a")]
    docs += [doc(), doc(), doc(last_name=None), doc()]
    await insert(store, "contacts", *docs)

    seen = await _all_pages(store, "last_name", descending, [], page_size=3)

    expected = _expected_order(docs, "last_name", descending)
    assert [d["id"] for d in seen] == [d["id"] for d in expected]


def _spread_docs(count: int) -> list[dict[str, Any]]:
    """Documents whose labels and attrs make some values rare and others common."""
    docs = []
    for i in range(count):
        labels = ["common"] + (["rare"] if i % 9 == 4 else []) + (["odd"] if i % 2 else [])
        attrs = {"plan": "pro" if i % 3 else "free", "tier": i % 2, "code": f"c{i % 11}"}
        docs.append(doc(kind="person", rank=(i * 7) % 5, labels=labels, attrs=attrs))
    return docs


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("order_by", ["id", "rank"])
@pytest.mark.parametrize(
    "where",
    [
        [Contains("labels", "rare")],
        [Contains("labels", "common"), Eq("attrs.plan", "pro")],
        [Eq("attrs.plan", "free"), Contains("labels", "odd"), Not(Contains("labels", "rare"))],
        [Eq("attrs.tier", 1), Range("rank", gte=2), ContainsAny("labels", ("rare", "odd"))],
        [Range("rank", lte=0), Eq("kind", None), Not(Eq("attrs.code", "c3"))],
    ],
    ids=["rare", "common-and-plan", "three-conditions", "range-and-any", "range-only"],
)
@pytest.mark.parametrize("probe_limit", [3, 2000], ids=["small-probes", "large-probes"])
async def test_keyset_pages_over_multi_value_conditions_match_a_plain_filter(
    store: DocumentStore,
    monkeypatch: pytest.MonkeyPatch,
    where: list[Where],
    order_by: str,
    descending: bool,
    probe_limit: int,
) -> None:
    # Whichever index a page is read from (SQLite picks by probing), pages must not change.
    monkeypatch.setattr("crm_shared.storage.sqlite_plan.PROBE_LIMIT", probe_limit)
    docs = _spread_docs(40)
    await insert(store, "contacts", *docs, doc(T2, kind="person", rank=1, labels=["rare"]))
    if any(isinstance(c, Eq) and c.field == "kind" for c in where):
        where = [c for c in where if not (isinstance(c, Eq) and c.field == "kind")]
    expected_ids = await matching_ids(store, *where)

    seen = await _all_pages(store, order_by, descending, where, page_size=4)

    expected = _expected_order([d for d in docs if d["id"] in expected_ids], order_by, descending)
    assert expected, "the scenario must match something"
    assert [d["id"] for d in seen] == [d["id"] for d in expected]


async def test_scan_streams_every_matching_document_across_pages(store: DocumentStore) -> None:
    people = [doc(kind="person", rank=i % 4) for i in range(20)]
    await insert(store, "contacts", *people, *(doc(kind="org", rank=1) for _ in range(7)))
    await insert(store, "contacts", *(doc(T2, kind="person", rank=1) for _ in range(3)))

    streamed = [
        d
        async for d in scan(
            store, "contacts", tenant=T1, where=[Eq("kind", "person")], order_by="rank", page_size=5
        )
    ]

    assert streamed == _expected_order(people, "rank", descending=False)
    by_id = [d async for d in scan(store, "contacts", tenant=T1, page_size=4)]
    assert len(by_id) == 27
    assert len({d["id"] for d in by_id}) == 27


# --- unique indexes ---------------------------------------------------------------------------


async def test_unique_index_rejects_a_second_document_with_the_same_value(
    store: DocumentStore,
) -> None:
    first = doc(email="ada@example.org")
    await insert(store, "contacts", first)
    with pytest.raises(DuplicateKeyError):
        await insert(store, "contacts", doc(email="ada@example.org"))
    async with store.reader() as session:
        assert await session.find("contacts", tenant=T1) == [first]


async def test_unique_index_allows_other_tenants_and_documents_without_the_field(
    store: DocumentStore,
) -> None:
    await insert(store, "contacts", doc(T1, email="ada@example.org"))
    await insert(store, "contacts", doc(T2, email="ada@example.org"))
    await insert(store, "contacts", doc(T1), doc(T1))
    async with store.reader() as session:
        assert await session.count("contacts", tenant=T1) == 3
        assert await session.count("contacts", tenant=T2) == 1


async def test_inserting_an_existing_id_raises_duplicate_key(store: DocumentStore) -> None:
    note = doc(text="first")
    await insert(store, "notes", note)
    with pytest.raises(DuplicateKeyError):
        await insert(store, "notes", {**note, "text": "second"})
    assert await get(store, "notes", note) == note


async def test_replace_onto_a_taken_unique_value_raises_duplicate_key(
    store: DocumentStore,
) -> None:
    ada, alan = doc(email="ada@example.org"), doc(email="alan@example.org")
    await insert(store, "contacts", ada, alan)
    with pytest.raises(DuplicateKeyError):
        async with store.transaction() as session:
            await session.replace("contacts", {**alan, "email": "ada@example.org"})
    assert await get(store, "contacts", alan) == alan


@pytest.mark.needs_transactions
async def test_duplicate_key_error_rolls_back_the_whole_transaction(
    store: DocumentStore,
) -> None:
    await insert(store, "contacts", doc(email="ada@example.org"))
    note = doc(text="written before the clash")
    with pytest.raises(DuplicateKeyError):
        async with store.transaction() as session:
            await session.insert("notes", note)
            await session.add_events([outgoing(1)])
            await session.insert_many("contacts", [doc(), doc(email="ada@example.org")])
    assert await get(store, "notes", note) is None
    assert await store.pending_events(10) == []
    async with store.reader() as session:
        assert await session.count("contacts", tenant=T1) == 1


# --- replace and delete -----------------------------------------------------------------------


async def test_replace_with_the_expected_version_stores_the_new_document(
    store: DocumentStore,
) -> None:
    ada = doc(first_name="Ada", version=1)
    await insert(store, "contacts", ada)
    updated = {**ada, "first_name": "Ada K.", "version": 2}
    async with store.transaction() as session:
        assert await session.replace("contacts", updated, expected_version=1) is True
    assert await get(store, "contacts", ada) == updated
    unconditional = {**updated, "first_name": "Augusta", "version": 3}
    async with store.transaction() as session:
        assert await session.replace("contacts", unconditional) is True
    assert await get(store, "contacts", ada) == unconditional


async def test_replace_with_a_stale_version_returns_false_and_changes_nothing(
    store: DocumentStore,
) -> None:
    ada = doc(first_name="Ada", version=2)
    await insert(store, "contacts", ada)
    async with store.transaction() as session:
        stale = {**ada, "first_name": "Stale", "version": 2}
        assert await session.replace("contacts", stale, expected_version=1) is False
        assert await session.replace("contacts", doc(first_name="Nobody")) is False
    assert await get(store, "contacts", ada) == ada


async def test_replace_many_stores_each_document_at_its_expected_version_with_its_indexes(
    store: DocumentStore,
) -> None:
    ada = doc(first_name="Ada", labels=["math"], attrs={"plan": "pro"}, search="ada lovelace")
    alan = doc(first_name="Alan", version=4, labels=["vip"], search="alan turing")
    await insert(store, "contacts", ada, alan)
    new_ada = {**ada, "labels": ["poet"], "search": "ada king", "version": 2}
    new_alan = {**alan, "labels": ["vip", "math"], "version": 5}
    async with store.transaction() as session:
        replaced = await session.replace_many(
            "contacts", [new_ada, new_alan], expected_versions=[1, 4]
        )
    assert replaced == 2
    assert (await get(store, "contacts", ada), await get(store, "contacts", alan)) == (
        new_ada,
        new_alan,
    )
    assert await matching_ids(store, Contains("labels", "math")) == {alan["id"]}
    assert await matching_ids(store, Contains("labels", "poet")) == {ada["id"]}
    assert await matching_ids(store, Eq("attrs.plan", "pro")) == {ada["id"]}
    assert await matching_ids(store, TextMatch("search", "king")) == {ada["id"]}
    assert await matching_ids(store, TextMatch("search", "lovelace")) == set()
    assert await matching_ids(store, TextMatch("search", "turing")) == {alan["id"]}


async def test_replace_many_leaves_documents_at_another_version_or_missing_and_counts_the_rest(
    store: DocumentStore,
) -> None:
    ada, alan = doc(first_name="Ada", version=3), doc(first_name="Alan")
    await insert(store, "contacts", ada, alan)
    stale = {**ada, "first_name": "Stale", "version": 3}
    fresh = {**alan, "first_name": "Alan M.", "version": 2}
    async with store.transaction() as session:
        assert await session.replace_many("contacts", [], expected_versions=[]) == 0
        replaced = await session.replace_many(
            "contacts", [stale, fresh, doc(first_name="Nobody")], expected_versions=[2, 1, 1]
        )
        other_tenant = await session.replace_many(
            "contacts", [{**ada, "tenant": T2}], expected_versions=[3]
        )
    assert (replaced, other_tenant) == (1, 0)
    assert await get(store, "contacts", ada) == ada
    assert await get(store, "contacts", alan) == fresh


async def test_replace_many_onto_a_taken_unique_value_raises_duplicate_key(
    store: DocumentStore,
) -> None:
    ada, alan = doc(email="ada@example.org"), doc(email="alan@example.org")
    await insert(store, "contacts", ada, alan)
    with pytest.raises(DuplicateKeyError):
        async with store.transaction() as session:
            clash = {**alan, "email": "ada@example.org", "version": 2}
            await session.replace_many("contacts", [clash], expected_versions=[1])
    assert await get(store, "contacts", alan) == alan


async def test_delete_removes_the_document_and_reports_whether_it_existed(
    store: DocumentStore,
) -> None:
    ada, alan = doc(), doc()
    await insert(store, "contacts", ada, alan)
    async with store.transaction() as session:
        assert await session.delete("contacts", tenant=T1, id=ada["id"]) is True
        assert await session.delete("contacts", tenant=T1, id=ada["id"]) is False
    assert await get(store, "contacts", ada) is None
    assert await get(store, "contacts", alan) == alan


async def test_delete_where_removes_only_matching_documents_and_counts_them(
    store: DocumentStore,
) -> None:
    mine = [doc(contact_id="c1") for _ in range(3)]
    kept = [doc(contact_id="c2"), doc()]
    other_tenant = doc(T2, contact_id="c1")
    await insert(store, "notes", *mine, *kept, other_tenant)
    async with store.transaction() as session:
        assert await session.delete_where("notes", tenant=T1, where=[Eq("contact_id", "c1")]) == 3
        assert await session.delete_where("notes", tenant=T1, where=[Eq("contact_id", "c1")]) == 0
    async with store.reader() as session:
        remaining = await session.find("notes", tenant=T1)
    assert {d["id"] for d in remaining} == {d["id"] for d in kept}
    assert await get(store, "notes", other_tenant) == other_tenant


# --- transactions, outbox, idempotency --------------------------------------------------------


@pytest.mark.needs_transactions
async def test_rollback_discards_documents_outbox_events_and_processed_marks(
    store: DocumentStore,
) -> None:
    note = doc(text="never committed")
    store.outbox_signal.clear()
    with pytest.raises(Boom):
        async with store.transaction() as session:
            await session.insert("notes", note)
            await session.add_events([outgoing(1)])
            assert await session.mark_processed("timeline", "event-1") is True
            assert await mark_processed_many(session, "timeline", ["event-2"]) == {"event-2"}
            raise Boom
    assert await get(store, "notes", note) is None
    assert await store.pending_events(10) == []
    assert not store.outbox_signal.is_set()
    async with store.transaction() as session:
        assert await session.mark_processed("timeline", "event-1") is True
        assert await mark_processed_many(session, "timeline", ["event-2"]) == {"event-2"}


async def test_committed_events_wait_in_order_until_marked_sent(store: DocumentStore) -> None:
    async with store.transaction() as session:
        await session.add_events([outgoing(1), outgoing(2)])
    async with store.transaction() as session:
        await session.add_events([])
        await session.add_events([outgoing(3, key=None)])

    pending = await store.pending_events(10)

    assert [EventEnvelope.from_bytes(p.value).data["n"] for p in pending] == [1, 2, 3]
    assert [p.topic for p in pending] == [Pinged.topic] * 3
    assert [p.key for p in pending] == [b"contact-1", b"contact-1", None]
    assert EventEnvelope.from_bytes(pending[0].value).type == Pinged.event_type
    assert await store.pending_events(2) == pending[:2]
    await store.mark_events_sent([p.outbox_id for p in pending[:2]])
    await store.mark_events_sent([])
    await store.mark_events_sent([new_id()])
    assert await store.pending_events(10) == pending[2:]


async def test_outbox_signal_is_set_only_after_a_commit_that_added_events(
    store: DocumentStore,
) -> None:
    store.outbox_signal.clear()
    async with store.transaction() as session:
        await session.insert("notes", doc())
    assert not store.outbox_signal.is_set()
    async with store.transaction() as session:
        await session.add_events([outgoing(1)])
        assert not store.outbox_signal.is_set()
    assert store.outbox_signal.is_set()


async def test_mark_processed_is_true_once_then_false_on_redelivery(
    store: DocumentStore,
) -> None:
    async with store.transaction() as session:
        assert await session.mark_processed("timeline", "event-1") is True
        assert await session.mark_processed("timeline", "event-1") is False
    note = doc(text="written while handling a redelivery")
    async with store.transaction() as session:
        assert await session.mark_processed("timeline", "event-1") is False
        assert await session.mark_processed("contacts", "event-1") is True
        # A redelivery must leave the transaction usable.
        await session.insert("notes", note)
    assert await get(store, "notes", note) == note


async def test_mark_processed_many_returns_only_the_ids_seen_for_the_first_time(
    store: DocumentStore,
) -> None:
    async with store.transaction() as session:
        assert await session.mark_processed("timeline", "event-1") is True
    async with store.transaction() as session:
        fresh = await mark_processed_many(
            session, "timeline", ["event-1", "event-2", "event-3", "event-2"]
        )
        assert fresh == {"event-2", "event-3"}
        assert await mark_processed_many(session, "timeline", []) == set()
        assert await session.mark_processed("timeline", "event-3") is False
    async with store.transaction() as session:
        assert await mark_processed_many(session, "timeline", ["event-2", "event-4"]) == {"event-4"}
        assert await mark_processed_many(session, "contacts", ["event-1"]) == {"event-1"}


async def test_reader_refuses_every_write(store: DocumentStore) -> None:
    ada = doc()
    await insert(store, "contacts", ada)
    async with store.reader() as session:
        with pytest.raises(RuntimeError):
            await session.insert("contacts", doc())
        with pytest.raises(RuntimeError):
            await session.insert_many("contacts", [doc()])
        with pytest.raises(RuntimeError):
            await session.replace("contacts", {**ada, "name": "changed"})
        with pytest.raises(RuntimeError):
            await session.delete("contacts", tenant=T1, id=ada["id"])
        with pytest.raises(RuntimeError):
            await session.delete_where("contacts", tenant=T1, where=[])
        with pytest.raises(RuntimeError):
            await session.add_events([outgoing(1)])
        with pytest.raises(RuntimeError):
            await session.mark_processed("timeline", "event-1")
    async with store.reader() as session:
        assert await session.find("contacts", tenant=T1) == [ada]
    assert await store.pending_events(10) == []


async def test_ping_answers_on_a_started_store(store: DocumentStore) -> None:
    await store.ping()
