"""Settings > Forms: the public forms (fields, consent checkboxes, allowed origins), which
admins create and edit; everyone else reads them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from crm_console.adapters.api import ApiError
from crm_console.domain.forms import FormInputProblem, form_body, form_values, targets
from crm_console.entrypoints.deps import Api, CurrentSession, redirect, render, require
from crm_console.service_layer.screens import custom_field_definitions

router = APIRouter()

FormId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
EDITOR_KEYS = ("name", "origins", "consents", "notice_version")


async def _editor(
    request: Request,
    session: CurrentSession,
    api: Api,
    *,
    form_id: str | None,
    values: dict[str, str],
    error: str | None = None,
    status_code: int = 200,
    form: dict[str, Any] | None = None,
) -> Response:
    definitions = await custom_field_definitions(api, session.api_key)
    context = {
        "form_id": form_id,
        "form": form,
        "values": values,
        "targets": targets([(d["key"], str(d.get("label") or d["key"])) for d in definitions]),
        "error": error,
    }
    return render(request, "form_edit.html", context, session=session, status_code=status_code)


@router.get("/settings/forms/new")
async def new_form(request: Request, session: CurrentSession, api: Api) -> Response:
    """An empty form editor (admin)."""
    require(session, "admin")
    return await _editor(request, session, api, form_id=None, values={})


@router.get("/settings/forms/{form_id}")
async def edit_form(
    request: Request, form_id: FormId, session: CurrentSession, api: Api
) -> Response:
    """A form's editor filled with its definition (admin), with the key a web page embeds."""
    require(session, "admin")
    form = await api.get("contacts", f"/v1/forms/{form_id}", key=session.api_key)
    return await _editor(
        request, session, api, form_id=form_id, values=form_values(form), form=form
    )


@router.post("/settings/forms")
async def create_form(request: Request, session: CurrentSession, api: Api) -> Response:
    """Create a form from the editor's values; the API's refusal comes back on the editor."""
    return await _save(request, session, api, form_id=None)


@router.post("/settings/forms/{form_id}")
async def save_form(
    request: Request, form_id: FormId, session: CurrentSession, api: Api
) -> Response:
    """Replace a form's definition (its id and key stay)."""
    return await _save(request, session, api, form_id=form_id)


async def _save(
    request: Request, session: CurrentSession, api: Api, *, form_id: str | None
) -> Response:
    require(session, "admin")
    submitted = await request.form()
    values = {
        name: str(value)
        for name, value in submitted.items()
        if name in EDITOR_KEYS or name.startswith("field.")
    }
    definitions = await custom_field_definitions(api, session.api_key)
    names = [t for t, _ in targets([(d["key"], d["key"]) for d in definitions])]
    try:
        body = form_body(values, names)
        if form_id is None:
            await api.post("contacts", "/v1/forms", key=session.api_key, json=body)
        else:
            await api.send(
                "contacts", "PUT", f"/v1/forms/{form_id}", key=session.api_key, json=body
            )
    except (FormInputProblem, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.status not in (409, 422):
            raise
        message = exc.message if isinstance(exc, ApiError) else str(exc)
        return await _editor(
            request,
            session,
            api,
            form_id=form_id,
            values=values,
            error=message,
            status_code=422,
        )
    return redirect(request, "/settings#forms-h")
