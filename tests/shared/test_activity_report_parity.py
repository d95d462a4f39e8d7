"""The topic's v2 activity event and the HTTP body differ only in the contact id and tolerance.

The timeline validates a v2 report once, with the event model, and then only checks its names
against the HTTP body's model (crm_timeline.entrypoints.consumers.valid_report). That is the same
judgement as validating it twice only while the two models type every field alike.
"""

from __future__ import annotations

import typing

from pydantic import BaseModel

from crm_shared.events import ActivityRecordedV2, ActivityReport
from crm_shared.events.activities import ReportedType


def _members(model: type[BaseModel], field: str) -> dict[str, type[BaseModel]]:
    """The details models of a discriminated union field, by their `type` tag."""
    annotation = model.model_fields[field].annotation
    members = typing.get_args(annotation)
    return {typing.get_args(m.model_fields["type"].annotation)[0]: m for m in members}


def test_the_event_has_the_reports_fields_plus_the_contact_id() -> None:
    assert set(ActivityRecordedV2.model_fields) == {*ActivityReport.model_fields, "contact_id"}


def test_every_plain_field_is_typed_and_constrained_alike() -> None:
    for name, field in ActivityReport.model_fields.items():
        if name == "details":
            continue
        event_field = ActivityRecordedV2.model_fields[name]
        assert (event_field.annotation, event_field.metadata) == (field.annotation, field.metadata)


def test_each_details_type_is_the_same_model_read_tolerantly() -> None:
    strict, tolerant = _members(ActivityReport, "details"), _members(ActivityRecordedV2, "details")

    assert set(strict) == set(tolerant) == set(typing.get_args(ReportedType))
    for kind, model in strict.items():
        assert issubclass(tolerant[kind], model)
        assert tolerant[kind].model_fields.keys() == model.model_fields.keys()
        assert (model.model_config.get("extra"), tolerant[kind].model_config.get("extra")) == (
            "forbid",
            "ignore",
        )
