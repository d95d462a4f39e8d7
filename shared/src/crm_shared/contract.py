"""The published event contract: a JSON Schema per event type and an AsyncAPI 3.0 document.

`python -m crm_shared.contract` writes shared/schemas/ and docs/asyncapi.json from the models;
`--check` writes nothing and exits 1 listing what is out of date (for CI and `make schemas`).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from crm_shared.cloudevents import CONTENT_TYPE_HEADER, TYPE_HEADER
from crm_shared.envelope import (
    CONTENT_TYPE,
    SCHEMA_BASE_URI,
    EventData,
    EventEnvelope,
    schema_uri,
)
from crm_shared.events.contacts import IMPORT_EVENT_TYPES, IMPORT_JOB_HEADER
from crm_shared.events.registry import EVENT_TYPES
from crm_shared.messaging.kafka import DEFAULT_PERSONAL_RETENTION_MS
from crm_shared.schema_compat import JsonSchema, compatibility_breaks
from crm_shared.topics import (
    ACTIVITIES,
    ALL_TOPICS,
    CONTACT_COMMANDS,
    CONTACT_EVENTS,
    CONTACT_STATE,
    CONTACT_UPSERTS,
    CONVERSATIONS,
    DEAD_LETTERS,
    ERASURE_RECEIPTS,
    GDPR_EVENTS,
    IMPORT_RESULTS,
    IMPORTER_EVENTS,
    TIMELINE_EVENTS,
    Topic,
    topic_config,
)
from crm_shared.wiring import TOPIC_USES, TopicUse

SCHEMAS_DIR = Path("shared/schemas")
ASYNCAPI_PATH = Path("docs/asyncapi.json")
ENVELOPE_SCHEMA = "envelope"
REGENERATE_HINT = "make schemas (uv run python -m crm_shared.contract)"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
KAFKA_BINDING = {"bindingVersion": "0.5.0"}
DEAD_LETTER_MESSAGE = "crm.dead-letter"

# A payload's Kafka record key is the first of these fields it has: the contact id for anything
# about a contact, so one contact's events stay in order on one partition (an account's events are
# keyed by the account id).
KEY_FIELDS: tuple[str, ...] = (
    "contact_id",
    "job_id",
    "export_id",
    "account_id",
    "campaign_id",
    "conversation_id",
    "external_id",
    "identifier_hash",
)

TOPIC_DESCRIPTIONS: dict[str, str] = {
    CONTACT_EVENTS.name: "Contact lifecycle events, published by the contacts service.",
    CONTACT_COMMANDS.name: "Commands for the contacts service: import batches to apply.",
    IMPORT_RESULTS.name: "Each import batch's per-row results, from contacts to the importer.",
    IMPORTER_EVENTS.name: "Import and export job events of the importer.",
    TIMELINE_EVENTS.name: "Events of the timeline service.",
    ACTIVITIES.name: "Interactions other products report about a contact "
    "(conversations, emails, appointments, tickets).",
    GDPR_EVENTS.name: "Consent changes and the erasure saga's requests and completions; "
    "other products learn of an erasure here (GDPR Art. 19).",
    ERASURE_RECEIPTS.name: "Each service's receipt for its part of an erasure request.",
    CONVERSATIONS.name: "Chat conversations a conversation product reports (started, message, "
    "visitor identified, ended), keyed by conversation id; the contacts service resolves the "
    "identified visitor to one contact, the timeline shows one item per conversation.",
    CONTACT_UPSERTS.name: "Integrations' contact upserts by their own ids (bulk sync), keyed by "
    "the external id; the same rules as PUT /v1/contacts/by-external-id/{system}/{id}.",
    CONTACT_STATE.name: "Each contact's current profile, keyed by contact id, written after "
    "every change (compacted: the latest record per key is the contact now); a tombstone (null "
    "value, no content-type) once the contact is erased, purged or merged away: delete your "
    "copy. Read it from the beginning to build a current copy of every contact.",
    DEAD_LETTERS.name: "Records a consumer could not handle, republished unchanged with the error "
    "in dlq.* headers: at once when retrying cannot help (malformed, schema-invalid, unknown "
    "tenant or contact), after bounded retries with backoff otherwise.",
}

DEAD_LETTER_HEADERS: dict[str, str] = {
    "dlq.reason": "Why it was given up on: malformed-json, malformed-envelope, schema-invalid, "
    "unknown-tenant, a handler's own slug (e.g. unknown-contact), or retries-exhausted.",
    "dlq.error": "The type name of the error; never its message, which may quote values.",
    "dlq.attempts": "How many times handling was attempted (1 for what retrying cannot fix).",
    "dlq.group": "The consumer group that gave up on the record.",
    "dlq.topic": "The topic the record came from.",
    "dlq.partition": "Its partition.",
    "dlq.offset": "Its offset.",
}
# Present only when the failure names fields.
OPTIONAL_DEAD_LETTER_HEADERS: dict[str, str] = {
    "dlq.fields": "The failing fields as comma-separated dotted paths (e.g. data.summary); "
    "names only, never values: a part the schema does not declare (a dict key, an unknown "
    "field's name) is shown as *.",
    "dlq.kinds": "Each failing field with its kind of error, `<path>:<kind>` comma-separated "
    "(e.g. data.email:string_type, pydantic's error types); never the input.",
}


def record_key_field(model: type[EventData]) -> str:
    """The payload field whose value is the Kafka record key of this event type."""
    for name in KEY_FIELDS:
        if name in model.model_fields:
            return name
    raise ValueError(f"{model.event_type} has none of the key fields {KEY_FIELDS}")


def event_schema(model: type[EventData]) -> JsonSchema:
    """The JSON Schema of an event type's payload (the envelope's `data`)."""
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": schema_uri(model.event_type),
        "x-event-type": model.event_type,
        "x-topic": model.topic,
        "x-key": f"data.{record_key_field(model)}",
        **model.model_json_schema(),
    }


def envelope_schema() -> JsonSchema:
    """The JSON Schema of the CloudEvents envelope every event travels in."""
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{SCHEMA_BASE_URI}{ENVELOPE_SCHEMA}.json",
        "x-content-type": CONTENT_TYPE,
        **EventEnvelope.model_json_schema(),
    }


def contract_schemas() -> dict[str, JsonSchema]:
    """Every snapshot schema by its file name without `.json`: event types plus the envelope."""
    schemas = {event_type: event_schema(model) for event_type, model in EVENT_TYPES.items()}
    schemas[ENVELOPE_SCHEMA] = envelope_schema()
    return schemas


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document: topics as channels, event types as messages, services' uses."""
    models = list(EVENT_TYPES.values())
    generated: list[type[BaseModel]] = [EventEnvelope, *models]
    refs, definitions = models_json_schema(
        [(model, "validation") for model in generated],
        ref_template="#/components/schemas/{model}",
    )
    schemas: dict[str, JsonSchema] = definitions["$defs"]
    envelope = schemas[_ref_name(refs[(EventEnvelope, "validation")])]
    messages = {
        model.event_type: _message(model, envelope, refs[(model, "validation")]) for model in models
    }
    messages[DEAD_LETTER_MESSAGE] = _dead_letter_message()
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "CRM Contacts platform events",
            "version": version("crm-shared"),
            "description": (
                "Every topic of the CRM Contacts platform and the services that send and receive "
                "on it, generated from the declarations the services' consumers are checked "
                "against at start-up. Every event is a CloudEvents 1.0 record with the tenant "
                "and a `dataschema` URI; consumers deduplicate on `id`. The platform writes "
                "structured mode (header `content-type: application/cloudevents+json`) and "
                "reads both modes: binary mode puts the attributes in `ce_<name>` headers "
                "(`ce_tenant`, `ce_actor` for the extensions) and the data alone in the value. "
                "Event types end with their version (`.v<N>`): a breaking change is a new event "
                "type. Records about a contact are keyed by its id, so one contact's events stay "
                "in order on one partition."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": {topic.name: _channel(topic) for topic in ALL_TOPICS},
        "operations": dict(_operation(use) for use in TOPIC_USES),
        "components": {"schemas": schemas, "messages": messages},
    }


def _ref_name(ref: JsonSchema) -> str:
    return str(ref["$ref"]).rsplit("/", 1)[-1]


def _topic_models(topic: Topic) -> list[type[EventData]]:
    return [model for model in EVENT_TYPES.values() if model.topic == topic.name]


def _key_convention(topic: Topic) -> str:
    models = _topic_models(topic)
    if not models:
        return "The failed record's key, unchanged."
    by_field: dict[str, list[str]] = {}
    for model in models:
        by_field.setdefault(record_key_field(model), []).append(model.event_type)
    if list(by_field) == ["contact_id"]:
        return "data.contact_id: one contact's events stay in order on one partition."
    return "; ".join(f"data.{name} for {', '.join(types)}" for name, types in by_field.items())


def _message_ids(topic: Topic) -> tuple[str, ...]:
    return tuple(m.event_type for m in _topic_models(topic)) or (DEAD_LETTER_MESSAGE,)


def _channel(topic: Topic) -> dict[str, Any]:
    return {
        "address": topic.name,
        "description": TOPIC_DESCRIPTIONS[topic.name],
        "x-partitions": topic.partitions,
        "x-key": _key_convention(topic),
        "messages": {mid: {"$ref": f"#/components/messages/{mid}"} for mid in _message_ids(topic)},
        "bindings": {
            "kafka": {
                "topic": topic.name,
                "partitions": topic.partitions,
                **_topic_configuration(topic),
                **KAFKA_BINDING,
            }
        },
        **({"x-topic-config": config} if (config := _created_with(topic)) else {}),
    }


def _created_with(topic: Topic) -> dict[str, str]:
    """The configs the platform creates the topic with (at the default retention)."""
    return topic_config(topic, personal_retention_ms=DEFAULT_PERSONAL_RETENTION_MS)


def _topic_configuration(topic: Topic) -> dict[str, Any]:
    """The Kafka binding's topicConfiguration: the created configs the binding defines."""
    config = _created_with(topic)
    known: dict[str, Any] = {}
    if "cleanup.policy" in config:
        known["cleanup.policy"] = config["cleanup.policy"].split(",")
    for name in ("retention.ms", "delete.retention.ms"):
        if name in config:
            known[name] = int(config[name])
    return {"topicConfiguration": known} if known else {}


def _message(model: type[EventData], envelope: JsonSchema, data_ref: JsonSchema) -> JsonSchema:
    doc = inspect.cleandoc(model.__doc__ or model.__name__)
    key = record_key_field(model)
    properties = dict(envelope["properties"])
    properties["type"] = {**properties["type"], "const": model.event_type}
    properties["data"] = data_ref
    summary, _, description = doc.partition("\n")
    return {
        "name": model.event_type,
        "title": model.__name__,
        "summary": summary,
        **({"description": description.strip()} if description.strip() else {}),
        "contentType": CONTENT_TYPE,
        "headers": _record_headers(model),
        "payload": {**envelope, "title": f"{model.__name__} event", "properties": properties},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": f"data.{key} of the payload."},
                **KAFKA_BINDING,
            }
        },
        "x-key": f"data.{key}",
    }


def _record_headers(model: type[EventData]) -> JsonSchema:
    """The headers the platform's relays send with an event of `model`
    (`crm_shared.cloudevents.structured_headers`)."""
    properties: dict[str, JsonSchema] = {
        CONTENT_TYPE_HEADER: {"type": "string", "const": CONTENT_TYPE},
        TYPE_HEADER: {
            "type": "string",
            "const": model.event_type,
            "description": "The envelope's `type`, so a consumer may pass over types it does "
            "not handle without parsing the value; a record without it is judged by its value.",
        },
    }
    if model.event_type in IMPORT_EVENT_TYPES:
        properties[IMPORT_JOB_HEADER] = {
            "type": "string",
            "description": "Set on an import's per-contact event: `data.import_job_id`, so a "
            "consumer that follows the import's ContactsImported summaries may pass over the "
            "event without parsing it; a record without it is judged by its data.",
        }
    return {"type": "object", "properties": properties, "required": [CONTENT_TYPE_HEADER]}


def _dead_letter_message() -> JsonSchema:
    return {
        "name": DEAD_LETTER_MESSAGE,
        "title": "Dead letter",
        "summary": "A record a consumer could not handle, with the error in headers.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "properties": {
                name: {"type": "string", "description": description}
                for name, description in (
                    DEAD_LETTER_HEADERS | OPTIONAL_DEAD_LETTER_HEADERS
                ).items()
            },
            "required": list(DEAD_LETTER_HEADERS),
        },
        "payload": {
            "description": "The failed record's value byte for byte: usually a CloudEvents "
            "envelope, possibly a malformed one."
        },
    }


def _operation(use: TopicUse) -> tuple[str, dict[str, Any]]:
    channel = f"#/channels/{use.topic.name}"
    message_ids = use.event_types or _message_ids(use.topic)
    group = f".{use.group}" if use.group else ""
    return f"{use.service}.{use.action}.{use.topic.name}{group}", {
        "action": use.action,
        **({"x-consumer-group": use.group} if use.group else {}),
        "channel": {"$ref": channel},
        "summary": use.purpose,
        "tags": [{"name": use.service}],
        "messages": [{"$ref": f"{channel}/messages/{mid}"} for mid in message_ids],
    }


def render(document: Any) -> str:
    """The committed text of a generated JSON file."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def contract_files() -> dict[Path, str]:
    """Every generated file, by its path relative to the repository root, with its text."""
    files = {SCHEMAS_DIR / f"{name}.json": render(s) for name, s in contract_schemas().items()}
    files[ASYNCAPI_PATH] = render(asyncapi_document())
    return files


def load_snapshots(root: Path) -> dict[str, JsonSchema]:
    """The committed schema snapshots under `root`, by file name without `.json`."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((root / SCHEMAS_DIR).glob("*.json"))
    }


def snapshot_breaks(root: Path) -> dict[str, list[str]]:
    """Each committed snapshot that the current models break, with what breaks it."""
    current = contract_schemas()
    breaks: dict[str, list[str]] = {}
    for name, old in load_snapshots(root).items():
        found = ["event type disappeared"] if name not in current else []
        found = found or compatibility_breaks(old, current[name])
        if found:
            breaks[name] = found
    return breaks


def differences(root: Path, files: dict[Path, str]) -> list[str]:
    """The generated files that are missing or differ under `root`, and stale snapshots."""
    found: list[str] = []
    for relative, text in files.items():
        path = root / relative
        if not path.exists():
            found.append(f"missing: {relative}")
        elif path.read_text(encoding="utf-8") != text:
            found.append(f"out of date: {relative}")
    for path in sorted((root / SCHEMAS_DIR).glob("*.json")):
        if path.relative_to(root) not in files:
            found.append(f"no longer generated: {path.relative_to(root)}")
    return found


def _write(root: Path, files: dict[Path, str], *, prune: bool) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {relative}")
    if prune:
        for path in (root / SCHEMAS_DIR).glob("*.json"):
            if path.relative_to(root) not in files:
                path.unlink()
                print(f"removed {path.relative_to(root)}")


def main(argv: Sequence[str] | None = None) -> int:
    """Write the schemas and the AsyncAPI document, or with --check report what is stale."""
    parser = argparse.ArgumentParser(prog="python -m crm_shared.contract", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    parser.add_argument(
        "--allow-breaking",
        action="store_true",
        help="overwrite snapshots the models break, and remove those of vanished event types",
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root")
    args = parser.parse_args(argv)
    files = contract_files()
    if args.check:
        stale = differences(args.root, files)
        for line in stale:
            print(line, file=sys.stderr)
        if stale:
            print(f"event contract files are out of date: run {REGENERATE_HINT}", file=sys.stderr)
            return 1
        print("event contract files are up to date")
        return 0
    breaks = snapshot_breaks(args.root)
    if breaks and not args.allow_breaking:
        for name, found in breaks.items():
            for line in found:
                print(f"{name}: {line}", file=sys.stderr)
        print(
            "refusing to overwrite snapshots with breaking changes: publish a new event type "
            "version (.v<N+1>) instead, or pass --allow-breaking if no one depends on it yet",
            file=sys.stderr,
        )
        return 1
    _write(args.root, files, prune=args.allow_breaking)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
