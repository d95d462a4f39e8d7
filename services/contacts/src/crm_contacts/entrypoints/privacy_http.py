"""Privacy endpoints of the contacts service: resolving a data subject, the suppression list.

`POST /v1/persons/resolve` is what the gdpr service calls (admin credentials forwarded) to find
every record of a person before erasing or exporting them; it never returns an email or phone,
only record ids, their states and the keyed hashes of the identifiers found.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm_contacts.domain.contact import public_view
from crm_contacts.domain.person import (
    MAX_SELECTOR_IDS,
    RecordState,
    ResolvePerson,
    bundle_profile,
)
from crm_contacts.entrypoints.deps import Settings, Store
from crm_contacts.service_layer.person import resolve_person
from crm_contacts.service_layer.suppressions import (
    lift_suppression,
    suppressed_identifiers,
    suppression_page,
)
from crm_shared.cursors import CursorCodec, Text
from crm_shared.http import AdminAuth, EditorAuth
from crm_shared.validation import Flag

router = APIRouter(prefix="/v1", tags=["privacy"])

HASH_PATTERN = r"^[0-9a-f]{64}$"
_CONTACT_ID = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")]
_IDENTIFIER = Annotated[str, Field(min_length=1, max_length=254)]
_CURSOR = CursorCodec(Text(pattern=re.compile(HASH_PATTERN)), max_length=200)


class PersonQuery(BaseModel):
    """Body of `POST /v1/persons/resolve`: at least one id, email or phone."""

    model_config = ConfigDict(extra="forbid")

    contact_ids: list[_CONTACT_ID] = Field(default=[], max_length=MAX_SELECTOR_IDS)
    emails: list[_IDENTIFIER] = Field(default=[], max_length=100)
    phones: list[_IDENTIFIER] = Field(default=[], max_length=100)
    with_profiles: Flag = Field(
        default=False, description="Include each record's fields (for an access request)"
    )

    @model_validator(mode="after")
    def _names_someone(self) -> PersonQuery:
        if not (self.contact_ids or self.emails or self.phones):
            raise ValueError("give at least one of contact_ids, emails or phones")
        return self


class PersonRecordPublic(BaseModel):
    """One record of the person."""

    id: str
    state: RecordState
    merged_into: str | None
    profile: dict[str, Any] | None = None


class PersonPublic(BaseModel):
    """Every record of the person and the keyed hashes of their identifiers."""

    records: list[PersonRecordPublic]
    identifier_hashes: list[str]


class IdentifiersCheck(BaseModel):
    """Body of `POST /v1/suppressions/check`: identifiers as an entry channel received them."""

    model_config = ConfigDict(extra="forbid")

    emails: list[_IDENTIFIER] = Field(default=[], max_length=100)
    phones: list[_IDENTIFIER] = Field(default=[], max_length=100)


class CheckPublic(BaseModel):
    """Whether any identifier is suppressed, and which hashes are."""

    suppressed: bool
    hashes: list[str]


class SuppressionPublic(BaseModel):
    """One suppression entry: the keyed hash, why and when it was added."""

    hash: str
    reason: str
    created_at: str


class SuppressionPagePublic(BaseModel):
    """A page of the suppression list."""

    items: list[SuppressionPublic]
    next_cursor: str | None


@router.post("/persons/resolve", response_model=PersonPublic)
async def resolve(
    body: PersonQuery, principal: AdminAuth, store: Store, settings: Settings
) -> dict[str, Any]:
    """Every record of a person, live, soft-deleted, merged away or erased (admin only)."""
    resolution = await resolve_person(
        store,
        ResolvePerson(
            contact_ids=tuple(body.contact_ids),
            emails=tuple(body.emails),
            phones=tuple(body.phones),
        ),
        tenant=principal.tenant,
        suppression_key=settings.suppression_key,
        region=settings.crm_default_region,
    )

    def profile(record_id: str) -> dict[str, Any] | None:
        if not body.with_profiles:
            return None
        doc = resolution.documents[record_id]
        return bundle_profile(doc, public_view(doc))

    return {
        "records": [
            {"id": r.id, "state": r.state, "merged_into": r.merged_into, "profile": profile(r.id)}
            for r in resolution.records
        ],
        "identifier_hashes": resolution.identifier_hashes,
    }


@router.post("/suppressions/check", response_model=CheckPublic)
async def check(
    body: IdentifiersCheck, principal: EditorAuth, store: Store, settings: Settings
) -> dict[str, Any]:
    """Whether an entry channel must refuse these identifiers (an erased person's)."""
    hashes = await suppressed_identifiers(
        store,
        tenant=principal.tenant,
        emails=body.emails,
        phones=body.phones,
        suppression_key=settings.suppression_key,
        region=settings.crm_default_region,
    )
    return {"suppressed": bool(hashes), "hashes": hashes}


@router.get("/suppressions", response_model=SuppressionPagePublic)
async def list_suppressions(
    principal: AdminAuth,
    store: Store,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The tenant's suppression list in hash order (admin only)."""
    after = str(_CURSOR.decode(cursor)[0]) if cursor else None
    entries = await suppression_page(store, tenant=principal.tenant, after=after, limit=limit)
    next_cursor = _CURSOR.encode([entries[-1]["hash"]]) if len(entries) == limit else None
    return {
        "items": [
            {"hash": e["hash"], "reason": e.get("reason", ""), "created_at": e["created_at"]}
            for e in entries
        ],
        "next_cursor": next_cursor,
    }


@router.delete("/suppressions/{identifier_hash}", status_code=status.HTTP_204_NO_CONTENT)
async def lift(
    identifier_hash: Annotated[str, Path(pattern=HASH_PATTERN)],
    reason: Annotated[str, Query(min_length=3, max_length=500)],
    principal: AdminAuth,
    store: Store,
) -> Response:
    """Take one hash off the suppression list, with a reason (admin only; audited)."""
    await lift_suppression(
        store,
        tenant=principal.tenant,
        identifier_hash=identifier_hash,
        reason=reason,
        actor=principal.key_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
