"""Batches of time-ordered ids for audit entries."""

from __future__ import annotations

import uuid

from crm_gdpr.service_layer.ids import new_ids
from crm_shared.ids import new_id


def test_batch_has_the_asked_number_of_distinct_ids() -> None:
    ids = new_ids(1000)
    assert len(ids) == 1000
    assert len(set(ids)) == 1000


def test_batch_ids_are_uuid7_strings() -> None:
    for text in new_ids(50):
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)


def test_batch_ids_increase_strictly() -> None:
    ids = new_ids(500)
    assert ids == sorted(set(ids))


def test_batch_sorts_between_ids_made_before_and_after() -> None:
    before = new_id()
    batch = new_ids(300)
    after = new_id()
    assert before < batch[0]
    assert batch[-1] < after


def test_consecutive_batches_do_not_overlap() -> None:
    first, second = new_ids(200), new_ids(200)
    assert first[-1] < second[0]


def test_empty_batch() -> None:
    assert new_ids(0) == []
