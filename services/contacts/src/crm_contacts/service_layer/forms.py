"""Forms: define them, read them, and take a public submission into a contact and consents."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from typing import Any

from crm_contacts.adapters.forms import FormRepository, form_by_id
from crm_contacts.domain.forms import (
    CreateForm,
    given_consents,
    origin_allowed,
    submitted_fields,
)
from crm_contacts.service_layer.resolution import Resolved, arrival_of, resolve_in
from crm_contacts.settings import ContactsSettings
from crm_shared.actors import form_actor
from crm_shared.clock import now_iso
from crm_shared.events import FormSubmitted
from crm_shared.ids import new_id
from crm_shared.outbox import CONTACTS_SOURCE, outgoing
from crm_shared.problems import Forbidden, NotFound, Unauthorized
from crm_shared.storage import DocumentStore

MAX_FORMS_LISTED = 500


async def create_form(
    store: DocumentStore, command: CreateForm, *, tenant: str, actor: str
) -> dict[str, Any]:
    """Store a form with a new public key (what a web page embeds to post it)."""
    form = {
        "id": new_id(),
        "tenant": tenant,
        **command.model_dump(),
        "key": f"fk_{secrets.token_urlsafe(24)}",
        "created_at": now_iso(),
        "created_by": actor,
    }
    async with store.transaction() as session:
        await FormRepository(session, tenant).add(form)
    return form


async def change_form(
    store: DocumentStore, form_id: str, command: CreateForm, *, tenant: str, actor: str
) -> dict[str, Any]:
    """Replace a form's definition; its id and public key stay, so embedding pages keep working."""
    async with store.transaction() as session:
        forms = FormRepository(session, tenant)
        form = await forms.get(form_id)
        if form is None:
            raise NotFound(f"form {form_id} not found")
        changed = {**form, **command.model_dump(), "updated_at": now_iso(), "updated_by": actor}
        await forms.replace(changed)
    return changed


async def get_form(store: DocumentStore, form_id: str, *, tenant: str) -> dict[str, Any]:
    """The tenant's form (404 for another tenant's or an unknown one)."""
    async with store.reader() as session:
        form = await FormRepository(session, tenant).get(form_id)
    if form is None:
        raise NotFound(f"form {form_id} not found")
    return form


async def list_forms(store: DocumentStore, *, tenant: str) -> list[dict[str, Any]]:
    """The tenant's forms, oldest first."""
    async with store.reader() as session:
        return await FormRepository(session, tenant).listed(limit=MAX_FORMS_LISTED)


async def form_for_preflight(store: DocumentStore, form_id: str) -> dict[str, Any] | None:
    """Any tenant's form by id, for a CORS preflight (which carries no key)."""
    async with store.reader() as session:
        return await form_by_id(session, form_id)


async def public_form(
    store: DocumentStore, form_id: str, *, key: str | None, origin: str | None
) -> dict[str, Any]:
    """The form a submission is for: 404 unknown, 401 wrong or missing key, 403 origin refused."""
    async with store.reader() as session:
        form = await form_by_id(session, form_id)
    if form is None:
        raise NotFound(f"form {form_id} not found")
    if key is None or not hmac.compare_digest(key.encode(), str(form["key"]).encode()):
        raise Unauthorized("a form submission needs the form's key in the X-Form-Key header")
    if not origin_allowed(form, origin):
        raise Forbidden("this form may not be posted from this origin")
    return form


async def submit_form(
    store: DocumentStore,
    form: dict[str, Any],
    *,
    values: dict[str, Any],
    consents: Sequence[str],
    settings: ContactsSettings,
) -> Resolved:
    """Resolve (or create) the person, source `form`, and publish the consents they gave.

    422 for a field the form lacks or a purpose it does not show; 409 for an erased person.
    """
    tenant = form["tenant"]
    given = given_consents(form, consents)
    arrival = arrival_of(submitted_fields(form, values), source="form", settings=settings)
    actor = form_actor(form["id"])
    async with store.transaction() as session:
        found = await resolve_in(session, tenant, arrival, actor=actor, settings=settings)
        contact_id = found.contact["id"]
        event = FormSubmitted(
            contact_id=contact_id,
            form_id=form["id"],
            consents=given,
            notice_version=form.get("notice_version"),
        )
        await session.add_events(
            [outgoing(event, source=CONTACTS_SOURCE, tenant=tenant, key=contact_id, actor=actor)]
        )
    return found
