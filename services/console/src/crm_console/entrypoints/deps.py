"""Dependencies of the console's routes: the session, CSRF checks, the API and templates."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from crm_console.adapters.api import PlatformApi
from crm_console.domain.session import Role, Session
from crm_console.domain.values import CONSENT_CHANNELS, is_system_tag
from crm_console.service_layer.sessions import find_session
from crm_console.settings import ConsoleSettings
from crm_shared.storage import DocumentStore

SESSION_COOKIE = "crm_console_session"
SIGNIN_CSRF_COOKIE = "crm_console_signin"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))
TEMPLATES.env.tests["system_tag"] = is_system_tag
TEMPLATES.env.globals["consent_channels"] = CONSENT_CHANNELS


class SignInRequired(Exception):
    """No live session: the person is sent to the sign-in page."""


class Forbidden(Exception):
    """The request is refused (a bad CSRF token, or a role too low); the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def _api(request: Request) -> PlatformApi:
    api: PlatformApi = request.app.state.api
    return api


def store_of(request: Request) -> DocumentStore:
    """The console's own store (sessions, held uploads)."""
    store: DocumentStore = request.app.state.store
    return store


def settings_of(request: Request) -> ConsoleSettings:
    """The console's settings."""
    settings: ConsoleSettings = request.app.state.settings
    return settings


# Async twins of the two above for `Depends`: FastAPI runs a plain function in a thread, a
# hop that costs more than the look-up; the plain ones stay for callers outside a dependency.
async def _store(request: Request) -> DocumentStore:
    return store_of(request)


async def _settings(request: Request) -> ConsoleSettings:
    return settings_of(request)


def known_session(request: Request) -> Session | None:
    """The session this request was found to have (for error pages), if any."""
    session: Session | None = getattr(request.state, "session", None)
    return session


async def _session(request: Request) -> Session:
    idle = timedelta(minutes=settings_of(request).console_session_idle_minutes)
    session = await find_session(store_of(request), request.cookies.get(SESSION_COOKIE), idle=idle)
    if session is None:
        raise SignInRequired
    request.state.session = session
    return session


async def _checked_session(request: Request) -> Session:
    """The session, and for any method that changes something, a matching CSRF token."""
    session = await _session(request)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        token = request.headers.get(CSRF_HEADER)
        if token is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
        if not session.csrf_matches(token):
            raise Forbidden("The form expired or did not come from this console; reload the page.")
    return session


Api = Annotated[PlatformApi, Depends(_api)]
CurrentSession = Annotated[Session, Depends(_checked_session)]
Store = Annotated[DocumentStore, Depends(_store)]
Settings = Annotated[ConsoleSettings, Depends(_settings)]


def require(session: Session, role: Role) -> None:
    """Refuse an action that needs a higher role than the session's."""
    if not session.allows(role):
        raise Forbidden(f"This needs the {role} role; you are signed in as {session.role}.")


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    session: Session | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page or fragment rendered with the session's role and CSRF token in its context."""
    values: dict[str, Any] = {
        "session": session,
        "csrf_token": session.csrf_token if session else "",
    }
    values.update(context or {})
    return TEMPLATES.TemplateResponse(
        request, template, values, status_code=status_code, headers=headers
    )


def is_htmx(request: Request) -> bool:
    """True for a request htmx sent (it expects a fragment)."""
    return request.headers.get("hx-request") == "true"


def redirect(request: Request, url: str) -> Response:
    """Go to `url`: a 303 for a browser form, an HX-Redirect for htmx."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def signin_url(request: Request) -> str:
    """The sign-in page, coming back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/signin?next={quote(target, safe='')}"
