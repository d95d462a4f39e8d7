"""The published event contract: committed schemas stay compatible and the docs never drift."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from crm_shared import contract
from crm_shared.envelope import EventData
from crm_shared.events.registry import EVENT_TYPES
from crm_shared.schema_compat import compatibility_breaks
from crm_shared.topics import ALL_TOPICS
from crm_shared.wiring import FOR_OTHER_PRODUCTS

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = sorted((ROOT / contract.SCHEMAS_DIR).glob("*.json"))
REGENERATE = f"regenerate with `{contract.REGENERATE_HINT}` and commit the result"


def _breaking_change_message(name: str, breaks: list[str]) -> str:
    return (
        f"{name} breaks its committed schema snapshot:\n  "
        + "\n  ".join(breaks)
        + "\nPublish a new event type version (.v<N+1>) instead of changing this one."
    )


def test_schema_snapshots_are_committed() -> None:
    assert SNAPSHOTS, f"no schema snapshots under {contract.SCHEMAS_DIR}: {REGENERATE}"


@pytest.mark.parametrize("snapshot", SNAPSHOTS, ids=lambda path: path.stem)
def test_committed_snapshot_is_still_compatible(snapshot: Path) -> None:
    current = contract.contract_schemas()
    assert snapshot.stem in current, (
        f"event type {snapshot.stem} disappeared, but readers and stored events still use it"
    )
    old = json.loads(snapshot.read_text(encoding="utf-8"))
    breaks = compatibility_breaks(old, current[snapshot.stem])
    assert not breaks, _breaking_change_message(snapshot.stem, breaks)


def test_every_event_type_has_a_committed_snapshot() -> None:
    missing = set(contract.contract_schemas()) - {path.stem for path in SNAPSHOTS}
    assert not missing, f"no committed schema for {sorted(missing)}: {REGENERATE}"


def test_committed_schemas_match_the_models() -> None:
    files = {
        path: text for path, text in contract.contract_files().items() if path.suffix == ".json"
    }
    stale = [line for line in contract.differences(ROOT, files) if "asyncapi" not in line]
    assert not stale, "\n".join([*stale, REGENERATE])


def test_committed_asyncapi_document_matches_the_models() -> None:
    committed_path = ROOT / contract.ASYNCAPI_PATH
    assert committed_path.exists(), f"{contract.ASYNCAPI_PATH} is missing: {REGENERATE}"
    committed = json.loads(committed_path.read_text(encoding="utf-8"))
    generated = json.loads(contract.render(contract.asyncapi_document()))
    assert committed == generated, f"{contract.ASYNCAPI_PATH} is out of date: {REGENERATE}"


# The comparison itself, on deliberately broken copies of a real schema.


def _created_schema() -> dict[str, Any]:
    return copy.deepcopy(contract.contract_schemas()["crm.contacts.contact.created.v1"])


def test_compatibility_check_reports_a_removed_field_and_a_new_required_field() -> None:
    old = _created_schema()
    new = _created_schema()
    del new["properties"]["source"]
    new["required"].remove("source")
    new["properties"]["channel"] = {"type": "string"}
    new["required"].append("channel")

    breaks = compatibility_breaks(old, new)

    assert breaks == ["source: property removed", "channel: new required property"]


def test_compatibility_check_reports_an_optional_property_that_became_required() -> None:
    old = _created_schema()
    new = _created_schema()
    new["$defs"]["ContactProfile"]["required"].append("tags")

    assert compatibility_breaks(old, new) == ["profile.tags: property became required"]


def test_compatibility_check_reports_a_type_change_inside_a_nested_model() -> None:
    old = _created_schema()
    new = _created_schema()
    new["$defs"]["ContactProfile"]["properties"]["tags"]["items"] = {"type": "integer"}
    new["properties"]["version"] = {"type": "string"}

    assert compatibility_breaks(old, new) == [
        "version: type changed from integer to string",
        "profile.tags[]: type changed from string to integer",
    ]


def test_compatibility_check_reports_an_optional_field_that_lost_null() -> None:
    old = _created_schema()
    new = _created_schema()
    new["$defs"]["ContactProfile"]["properties"]["email"] = {"type": "string"}

    assert compatibility_breaks(old, new) == [
        "profile.email: type changed from null | string to string"
    ]


def test_compatibility_check_reports_changed_allowed_values() -> None:
    old = copy.deepcopy(contract.contract_schemas()["crm.activities.activity.recorded.v1"])
    new = copy.deepcopy(old)
    new["properties"]["activity_type"]["enum"] = ["conversation", "email", "sms"]

    [report] = compatibility_breaks(old, new)

    assert report.startswith("activity_type: allowed values changed")


def test_compatibility_check_allows_an_added_optional_property() -> None:
    old = _created_schema()
    new = _created_schema()
    new["properties"]["campaign"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    new["$defs"]["ContactProfile"]["properties"]["title"] = {"type": "string", "default": ""}
    new["description"] = "Reworded docs are not a break."

    assert compatibility_breaks(old, new) == []


def test_every_current_schema_is_compatible_with_itself() -> None:
    for name, schema in contract.contract_schemas().items():
        assert compatibility_breaks(schema, copy.deepcopy(schema)) == [], name


# Rules every event model follows.


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_event_type_ends_with_a_version_suffix(event_type: str) -> None:
    assert re.search(r"\.v[1-9][0-9]*$", event_type), f"{event_type} lacks a .v<N> suffix"


def _nested_models(model: type[BaseModel]) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    for field in model.model_fields.values():
        for candidate in _types_in(field.annotation):
            if candidate not in found:
                found |= {candidate} | _nested_models(candidate)
    return found


def _types_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _types_in(arg)]


@pytest.mark.parametrize("model", EVENT_TYPES.values(), ids=lambda model: model.event_type)
def test_event_model_and_its_parts_are_frozen_and_tolerate_unknown_fields(
    model: type[EventData],
) -> None:
    for part in {model} | _nested_models(model):
        assert part.model_config.get("frozen") is True, f"{part.__name__} is not frozen"
        # Tolerant readers: a later version's added optional field must not break old consumers.
        assert part.model_config.get("extra") == "ignore", f"{part.__name__} rejects extras"

    try:
        model.model_validate({"not_a_field": 1})
    except ValidationError as raised:
        assert "extra_forbidden" not in {error["type"] for error in raised.errors()}
    instance = model.model_construct()
    with pytest.raises(ValidationError):
        instance.__setattr__(next(iter(model.model_fields)), "changed")


@pytest.mark.parametrize("model", EVENT_TYPES.values(), ids=lambda model: model.event_type)
def test_event_model_has_a_record_key_and_a_known_topic(model: type[EventData]) -> None:
    assert model.topic in {topic.name for topic in ALL_TOPICS}
    assert contract.record_key_field(model) in model.model_fields


# The AsyncAPI document and the send/receive table behind it.


def test_every_topic_is_a_channel_with_its_partitions() -> None:
    channels = contract.asyncapi_document()["channels"]

    assert {c["address"]: c["x-partitions"] for c in channels.values()} == {
        topic.name: topic.partitions for topic in ALL_TOPICS
    }


def test_every_event_type_is_a_cloudevents_message_on_its_topic() -> None:
    document = contract.asyncapi_document()
    for event_type, model in EVENT_TYPES.items():
        message = document["components"]["messages"][event_type]
        assert message["name"] == event_type
        assert message["contentType"] == "application/cloudevents+json"
        assert message["payload"]["properties"]["type"]["const"] == event_type
        assert message["payload"]["properties"]["data"]["$ref"].endswith(model.__name__)
        assert event_type in document["channels"][model.topic]["messages"]


def test_every_operation_uses_messages_of_its_own_channel() -> None:
    document = contract.asyncapi_document()
    for operation_id, operation in document["operations"].items():
        channel_ref = operation["channel"]["$ref"]
        assert channel_ref.removeprefix("#/channels/") in document["channels"], operation_id
        for message in operation["messages"]:
            assert message["$ref"].startswith(f"{channel_ref}/messages/"), operation_id
            message_id = message["$ref"].rsplit("/", 1)[-1]
            channel = document["channels"][channel_ref.removeprefix("#/channels/")]
            assert message_id in channel["messages"], operation_id


def test_every_topic_has_a_sender_and_every_event_type_a_receiver() -> None:
    senders = {use.topic.name for use in contract.TOPIC_USES if use.action == "send"}
    assert senders == {topic.name for topic in ALL_TOPICS}
    received = {
        event_type
        for use in contract.TOPIC_USES
        if use.action == "receive"
        for event_type in use.event_types
        or contract.asyncapi_document()["channels"][use.topic.name]["messages"]
    }
    # The audit log reads every domain topic, so every event type has a receiver, except the
    # contact states published for other products alone.
    assert set(EVENT_TYPES) - received == FOR_OTHER_PRODUCTS


def test_the_audit_log_is_documented_as_reading_recorded_activities_and_gdpr_events() -> None:
    operations = contract.asyncapi_document()["operations"]
    # Activities reach the audit log as the timeline recorded them (crm.timeline.events.v1).
    for topic in ("crm.timeline.events.v1", "crm.gdpr.events.v1"):
        operation = operations[f"gdpr.receive.{topic}.crm-gdpr-audit"]
        assert operation["x-consumer-group"] == "crm-gdpr-audit"


# The command line used by `make schemas` and CI.


def test_check_reports_missing_files_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert contract.main(["--check", "--root", str(tmp_path)]) == 1

    assert "missing: docs/asyncapi.json" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_written_files_pass_the_check(tmp_path: Path) -> None:
    assert contract.main(["--root", str(tmp_path)]) == 0

    assert contract.main(["--check", "--root", str(tmp_path)]) == 0
    assert (tmp_path / contract.ASYNCAPI_PATH).exists()
    assert (tmp_path / contract.SCHEMAS_DIR / "envelope.json").exists()


def test_writing_refuses_to_overwrite_a_snapshot_the_models_break(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    contract.main(["--root", str(tmp_path)])
    snapshot = tmp_path / contract.SCHEMAS_DIR / "crm.timeline.note.added.v1.json"
    broken = json.loads(snapshot.read_text(encoding="utf-8"))
    broken["properties"]["author"] = {"type": "string"}
    snapshot.write_text(json.dumps(broken), encoding="utf-8")

    assert contract.main(["--root", str(tmp_path)]) == 1
    assert "author: property removed" in capsys.readouterr().err
    assert "author" in snapshot.read_text(encoding="utf-8")

    assert contract.main(["--root", str(tmp_path), "--allow-breaking"]) == 0
    assert "author" not in snapshot.read_text(encoding="utf-8")


def test_a_reader_drops_a_field_added_by_a_later_version() -> None:
    from crm_shared.events import ContactDeleted

    event = ContactDeleted.model_validate({"contact_id": "c1", "version": 2, "added_later": "x"})
    assert event.model_dump() == {"contact_id": "c1", "version": 2}


def test_an_envelope_without_an_id_or_a_time_is_rejected_not_given_new_ones() -> None:
    from crm_shared.envelope import EventEnvelope

    raw = b'{"source": "x", "type": "t.v1", "tenant": "acme", "data": {}}'
    with pytest.raises(ValidationError) as raised:
        EventEnvelope.from_bytes(raw)
    assert {tuple(e["loc"]) for e in raised.value.errors()} >= {("id",), ("time",)}
