"""What the sources topics bring: a chat's identified visitor, an integration's upsert command.

Both resolve the person like the HTTP upserts do; a redelivered message changes nothing.
Messages no retry can fix (invalid fields, an erased person, another id of the same system)
are refused with `PermanentMessageError`, naming the fields and never a value, so the consumer
dead-letters them at once with the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from crm_contacts.domain.errors import InvalidFields, SuppressedIdentity
from crm_contacts.domain.resolution import ExternalIdTaken, ExternalRef
from crm_contacts.service_layer.resolution import Resolved, arrival_of, resolve_in
from crm_contacts.settings import ContactsSettings
from crm_shared.contact_fields import ALL_FIELDS
from crm_shared.events import ConversationLinked, UpsertContactByExternalId, VisitorIdentified
from crm_shared.messaging.errors import MAX_FIELDS, PermanentMessageError, field_path
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.storage import DocumentStore

SOURCES_CONSUMER = "contacts.sources"


@asynccontextmanager
async def _refused_for_good() -> AsyncIterator[None]:
    """Turn the resolver's refusals into dead-letter reasons."""
    try:
        yield
    except InvalidFields as exc:
        # A contact field's name, or `*` for a name the sender chose (a custom field's key).
        known = ("data", "fields", *ALL_FIELDS)
        fields = sorted(
            {field_path(("data", "fields", *p.field.split(".")), known) for p in exc.problems}
        )
        raise PermanentMessageError("invalid-fields", fields=fields[:MAX_FIELDS]) from None
    except SuppressedIdentity:
        raise PermanentMessageError("suppressed-person") from None
    except ExternalIdTaken:
        raise PermanentMessageError("external-id-conflict", fields=("data.external_id",)) from None


async def upsert_by_external_id(
    store: DocumentStore,
    command: UpsertContactByExternalId,
    *,
    tenant: str,
    actor: str,
    settings: ContactsSettings,
    event_id: str,
) -> Resolved | None:
    """Apply an integration's upsert command once; None for a redelivery."""
    async with _refused_for_good():
        arrival = arrival_of(
            command.fields,
            source="integration",
            settings=settings,
            occurred_at=command.occurred_at,
            external=ExternalRef(command.system, command.external_id),
        )
        async with store.transaction() as session:
            if not await session.mark_processed(SOURCES_CONSUMER, event_id):
                return None
            return await resolve_in(session, tenant, arrival, actor=actor, settings=settings)


async def link_visitor(
    store: DocumentStore,
    event: VisitorIdentified,
    *,
    tenant: str,
    actor: str,
    settings: ContactsSettings,
    event_id: str,
) -> Resolved | None:
    """Resolve (or create) the visitor's contact, source `chat`, and link the conversation."""
    fields = {"name": event.name, "email": event.email, "phone": event.phone}
    async with _refused_for_good():
        arrival = arrival_of(
            fields, source="chat", settings=settings, occurred_at=event.identified_at
        )
        async with store.transaction() as session:
            if not await session.mark_processed(SOURCES_CONSUMER, event_id):
                return None
            found = await resolve_in(session, tenant, arrival, actor=actor, settings=settings)
            contact_id = found.contact["id"]
            linked = ConversationLinked(
                contact_id=contact_id, conversation_id=event.conversation_id
            )
            await session.add_events(
                [
                    outgoing(
                        linked, source=CONTACTS_SOURCE, tenant=tenant, key=contact_id, actor=actor
                    )
                ]
            )
            return found
