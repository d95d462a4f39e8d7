"""Forms: admins define them (`/v1/forms`); anyone with a form's key submits it (no API key).

A submission is checked in this order: rate limit per form and client address (429 with
Retry-After), unknown form (404), missing or wrong key (401), origin not allowed (403), then its
fields and consents (422). Browsers get CORS headers for the form's allowed origins.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response, status

from crm_contacts.domain.forms import CreateForm, origin_allowed
from crm_contacts.entrypoints.deps import Settings, Store
from crm_contacts.entrypoints.form_schemas import (
    FormList,
    FormPublic,
    FormSubmission,
    SubmissionAccepted,
)
from crm_contacts.service_layer import forms
from crm_shared.http import AdminAuth, ViewerAuth
from crm_shared.idempotency import Idempotent
from crm_shared.rate_limit import RateLimiter

router = APIRouter(prefix="/v1/forms", tags=["forms"])

FORM_KEY_HEADER = "X-Form-Key"
FormKey = Annotated[str | None, Header(alias=FORM_KEY_HEADER, description="The form's key")]
Origin = Annotated[str | None, Header(description="Set by browsers; checked against the form")]


def _public(form: dict[str, Any]) -> FormPublic:
    return FormPublic.model_validate({**form, "submit_url": f"/v1/forms/{form['id']}/submissions"})


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=FormPublic, dependencies=[Idempotent]
)
async def create_form(
    body: CreateForm, principal: AdminAuth, store: Store, response: Response
) -> FormPublic:
    """Define a form: field mapping, consent purposes shown, allowed origins; returns its key."""
    form = await forms.create_form(store, body, tenant=principal.tenant, actor=principal.key_id)
    response.headers["Location"] = f"/v1/forms/{form['id']}"
    return _public(form)


@router.get("", response_model=FormList)
async def list_forms(principal: ViewerAuth, store: Store) -> FormList:
    """The tenant's forms, oldest first."""
    found = await forms.list_forms(store, tenant=principal.tenant)
    return FormList(items=[_public(form) for form in found])


@router.get("/{form_id}", response_model=FormPublic)
async def get_form(form_id: str, principal: ViewerAuth, store: Store) -> FormPublic:
    """One form; 404 for an unknown form or another tenant's."""
    return _public(await forms.get_form(store, form_id, tenant=principal.tenant))


@router.put("/{form_id}", response_model=FormPublic)
async def change_form(
    form_id: str, body: CreateForm, principal: AdminAuth, store: Store
) -> FormPublic:
    """Replace a form's fields, consent purposes, origins and notice; its id and key stay."""
    form = await forms.change_form(
        store, form_id, body, tenant=principal.tenant, actor=principal.key_id
    )
    return _public(form)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post(
    "/{form_id}/submissions",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SubmissionAccepted,
    responses={
        401: {"description": "Missing or wrong X-Form-Key"},
        403: {"description": "The Origin is not one the form allows"},
        429: {"description": "Too many submissions from this address; see Retry-After"},
    },
)
async def submit_form(
    form_id: str,
    body: FormSubmission,
    request: Request,
    response: Response,
    store: Store,
    settings: Settings,
    form_key: FormKey = None,
    origin: Origin = None,
) -> SubmissionAccepted:
    """Submit a form with its key (no API key): creates or updates the person (source `form`)
    and records the consents they ticked in the gdpr ledger.

    The answer is the same whether the person was known or not.
    """
    limiter: RateLimiter = request.app.state.form_limiter
    limiter.check(f"{form_id} {_client(request)}")
    form = await forms.public_form(store, form_id, key=form_key, origin=origin)
    await forms.submit_form(
        store, form, values=body.fields, consents=body.consents, settings=settings
    )
    if origin is not None and form.get("allowed_origins"):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
    return SubmissionAccepted()


# CORS plumbing for browsers, not an operation of the API: left out of the OpenAPI document.
@router.options(
    "/{form_id}/submissions", status_code=status.HTTP_204_NO_CONTENT, include_in_schema=False
)
async def submission_preflight(form_id: str, store: Store, origin: Origin = None) -> Response:
    """CORS preflight: a browser on an allowed origin may post JSON with the form key."""
    headers = {"Vary": "Origin"}
    form = await forms.form_for_preflight(store, form_id)
    if form is not None and origin is not None and origin_allowed(form, origin):
        headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": f"content-type, {FORM_KEY_HEADER.lower()}",
                "Access-Control-Max-Age": "600",
            }
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=headers)
