"""An import batch's command is written from plain rows: the same bytes its models wrote."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crm_importer.domain.jobs import ImportJob
from crm_importer.domain.mapping import ColumnPlan, plan_columns
from crm_importer.domain.rows import MappedRow, RowMapper
from crm_shared.contact_fields import IMPORTABLE_FIELDS
from crm_shared.envelope import EnvelopeWriter, EventEnvelope, schema_uri
from crm_shared.events import ImportContactsBatch, ImportRow

NOW = "2026-01-01T00:00:00.000000Z"
EVERY_FIELD = [name.upper() for name in IMPORTABLE_FIELDS]


def _plans() -> list[tuple[ColumnPlan, list[list[str]]]]:
    every = plan_columns(EVERY_FIELD, None)
    full = [f"value of {name}" for name in IMPORTABLE_FIELDS]
    blank = [""] * len(IMPORTABLE_FIELDS)
    some = [f" {name} ; x,y " if i % 2 else "" for i, name in enumerate(IMPORTABLE_FIELDS)]
    mapped = plan_columns(
        ["First", "Last", "Mail", "Plan", "Tags", "Id"],
        {
            "First": "name",
            "Last": "name",
            "Mail": "email",
            "Plan": "custom.plan",
            "Tags": "tags",
            "Id": "external_ids.hubspot",
        },
    )
    rows = [
        ["Zoë", "Ünal", "z@example.com", "gold", "a;b, c", "42"],
        ["", "Lee", "", "", "", ""],
        ['Quo"te', "Back\\slash", "x@y.z", "1,5", "", " 7 "],
    ]
    return [(every, [full, [*blank[:-1], "x"], some]), (mapped, rows)]


def _mapped_rows(plan: ColumnPlan, records: list[list[str]]) -> list[MappedRow]:
    mapper = RowMapper(plan, max_row_bytes=100_000)
    found = [mapper.map(n, cells) for n, cells in enumerate(records, start=2)]
    return [row for row in found if isinstance(row, MappedRow)]


@pytest.mark.parametrize("case", range(2))
def test_a_rows_json_form_is_its_models_dump_field_for_field(case: int) -> None:
    plan, records = _plans()[case]
    rows = _mapped_rows(plan, records)
    assert len(rows) == len(records)
    for row in rows:
        dumped = ImportRow.model_validate(row.values).model_dump(mode="json")
        assert list(row.values.items()) == list(dumped.items())


def test_rows_share_no_containers() -> None:
    plan, records = _plans()[1]
    first, second = _mapped_rows(plan, [records[1], records[1]])
    assert first.values["emails"] is not second.values["emails"]
    assert first.values["custom_fields"] is not second.values["custom_fields"]


@pytest.mark.parametrize("case", range(2))
@pytest.mark.parametrize("match_on", [[], ["external_id", "email"]])
def test_the_batch_envelope_is_byte_identical_to_the_models(case: int, match_on: list[Any]) -> None:
    plan, records = _plans()[case]
    rows = _mapped_rows(plan, records)
    job = ImportJob(
        id="j1",
        tenant="acme",
        actor="key:ops",
        on_duplicate="update",
        match_on=match_on,
        plan=plan,
        created_at=NOW,
    )
    payload = job.batch_payload(3, [row.values for row in rows])
    command = ImportContactsBatch(
        job_id=job.id,
        batch_no=3,
        on_duplicate=job.on_duplicate,
        rows=[ImportRow.model_validate(row.values) for row in rows],
        match_on=job.match_on,
        occurred_at=job.created_at,
    )
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    expected = EventEnvelope(
        id="e-1",
        source="crm/importer",
        type=ImportContactsBatch.event_type,
        time=moment,
        subject=job.id,
        dataschema=schema_uri(ImportContactsBatch.event_type),
        tenant=job.tenant,
        actor=job.actor,
        traceparent=None,
        data=command.model_dump(mode="json"),
    ).to_bytes()
    writer = EnvelopeWriter(
        ImportContactsBatch,
        source="crm/importer",
        tenant=job.tenant,
        actor=job.actor,
        traceparent=None,
        time=moment,
    )
    assert writer.write("e-1", job.id, payload).value == expected
    # And contacts reads the command back as the rows it was built from.
    assert ImportContactsBatch.model_validate(payload) == command
