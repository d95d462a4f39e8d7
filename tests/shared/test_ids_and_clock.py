"""Time-ordered ids and the fixed-width UTC text every document and event uses."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from crm_shared.clock import iso
from crm_shared.ids import id_unix_time, new_id, new_ids


def test_new_ids_are_canonical_uuid7_text_in_increasing_order() -> None:
    before = time.time()
    ids = [new_id() for _ in range(5000)]

    for made in ids:
        parsed = uuid.UUID(made)
        assert (str(parsed), parsed.version, parsed.variant) == (made, 7, uuid.RFC_4122)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert before - 0.001 <= (id_unix_time(ids[0]) or 0) <= time.time()


def test_ids_made_at_once_continue_the_one_by_one_order() -> None:
    before = time.time()
    ids = [new_id(), *new_ids(5000), new_id(), *new_ids(1), *new_ids(0), *new_ids(3)]

    assert len(ids) == 5006
    for made in ids:
        parsed = uuid.UUID(made)
        assert (str(parsed), parsed.version, parsed.variant) == (made, 7, uuid.RFC_4122)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert before - 0.001 <= (id_unix_time(ids[1]) or 0) <= time.time()
    # The random part is random per id, not one draw shared by the batch.
    assert len({made[19:] for made in ids}) == len(ids)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2025, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=1))),
        datetime(1900, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        datetime(2200, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-14))),
    ],
    ids=["an offset", "a microsecond past 1900", "the last microsecond of 2200, at UTC-14"],
)
def test_iso_is_fixed_width_utc_text_with_microseconds(moment: datetime) -> None:
    text = iso(moment)

    assert text == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert len(text) == 27 and text.endswith("Z")
    assert datetime.fromisoformat(text) == moment


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_draws_its_own_randomness_not_its_parents_next_ids() -> None:
    new_id()  # the parent holds randomness read ahead for its next ids
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's side, reported through the pipe
        try:
            os.write(writer, " ".join(new_id() for _ in range(50)).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        childs = pipe.read().split()
    os.waitpid(child, 0)
    parents = [new_id() for _ in range(50)]

    assert len(childs) == 50
    # Both continue from the same clock and counter: only the random parts keep them apart.
    assert {made[19:] for made in childs}.isdisjoint(made[19:] for made in parents)


def test_one_by_one_ids_each_take_fresh_random_bits_across_many_reads() -> None:
    ids = [new_id() for _ in range(2000)]  # several reads of the OS's randomness

    assert len({made[19:] for made in ids}) == len(ids)
    assert ids == sorted(ids)
