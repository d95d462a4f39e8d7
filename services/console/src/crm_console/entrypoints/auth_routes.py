"""Signing in with an API key and signing out."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from crm_console.adapters.api import ApiError
from crm_console.domain.session import new_token
from crm_console.entrypoints.deps import (
    SESSION_COOKIE,
    SIGNIN_CSRF_COOKIE,
    Api,
    CurrentSession,
    Settings,
    Store,
    redirect,
    render,
    settings_of,
)
from crm_console.service_layer.sessions import close_session, open_session
from crm_console.service_layer.signin import KeyRefused, detect_role

router = APIRouter()


def _safe_next(target: str | None) -> str:
    # Only paths of this console: never an absolute URL or a scheme-relative one.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/contacts"


def _secure(request: Request) -> bool:
    return settings_of(request).console_secure_cookies


def _signin_form(
    request: Request, *, error: str | None, next_url: str, status: int, notice: str | None = None
) -> Response:
    token = new_token()
    response = render(
        request,
        "signin.html",
        {"error": error, "notice": notice, "next": next_url, "signin_token": token},
        status_code=status,
    )
    # Sign-in has no session yet: a cookie the form must echo protects it (double submit).
    response.set_cookie(
        SIGNIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        max_age=3600,
    )
    return response


@router.get("/signin")
async def signin_page(
    request: Request, next: str | None = None, signed_out: bool = False
) -> Response:
    """The sign-in form; it says why it is shown when the person did not just arrive."""
    notice = None
    if signed_out:
        notice = "You are signed out."
    elif next:
        notice = "Sign in to continue (your session ended, or you have not signed in yet)."
    target = _safe_next(next)
    return _signin_form(request, error=None, next_url=target, status=200, notice=notice)


@router.post("/signin")
async def signin(
    request: Request,
    api: Api,
    store: Store,
    settings: Settings,
    api_key: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/contacts",
) -> Response:
    """Check the key with the services, open a session and set its cookie."""
    target = _safe_next(next)
    expected = request.cookies.get(SIGNIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        return _signin_form(
            request, error="The form expired; please sign in again.", next_url=target, status=403
        )
    key = api_key.strip()
    if not key:
        return _signin_form(request, error="Enter your API key.", next_url=target, status=422)
    try:
        role = await detect_role(api, key)
    except KeyRefused as exc:
        return _signin_form(request, error=f"{exc}.", next_url=target, status=401)
    except ApiError as exc:
        message = f"The key cannot be checked right now: {exc.message}."
        return _signin_form(request, error=message, next_url=target, status=502)
    idle = timedelta(minutes=settings.console_session_idle_minutes)
    session = await open_session(store, api_key=key, role=role, idle=idle)
    response = redirect(request, target)
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(SIGNIN_CSRF_COOKIE)
    return response


@router.post("/signout")
async def signout(request: Request, session: CurrentSession, store: Store) -> Response:
    """Close the session; its key is forgotten."""
    await close_session(store, session.token)
    response = redirect(request, "/signin?signed_out=true")
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
