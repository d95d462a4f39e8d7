"""Services serve HTTP with httptools on uvloop (crm-shared installs both) or a stack set."""

from __future__ import annotations

import sys
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from crm_shared import service
from crm_shared.http_server import TurnWritesHttpToolsProtocol
from crm_shared.settings import PlatformSettings


def _served_with(monkeypatch: pytest.MonkeyPatch, settings: PlatformSettings) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    monkeypatch.setattr(service, "configure_logging", lambda *args, **kwargs: None)
    app = FastAPI()
    app.state.settings = settings
    service.serve(app, service="t", host="127.0.0.1", port=0, log_level="info")
    return seen


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop has no Windows wheel")
def test_a_service_serves_with_httptools_on_uvloop_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = _served_with(monkeypatch, PlatformSettings())
    # httptools, writing a connection's bytes once per loop turn (crm_shared.http_server).
    assert (options["http"], options["loop"]) == (TurnWritesHttpToolsProtocol, "uvloop")
    config = uvicorn.Config(FastAPI(), http=options["http"], loop=options["loop"])
    config.load()
    assert issubclass(config.http_protocol_class, HttpToolsProtocol)  # needs httptools installed
    import uvloop  # noqa: F401 (the locked environment has it: uvicorn would fail without it)


def test_the_pure_python_stack_can_be_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_HTTP_PARSER", "h11")
    monkeypatch.setenv("CRM_EVENT_LOOP", "asyncio")
    options = _served_with(monkeypatch, PlatformSettings())
    assert (options["http"], options["loop"]) == ("h11", "asyncio")


def test_an_unknown_http_parser_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_HTTP_PARSER", "fastest")
    with pytest.raises(ValidationError, match="crm_http_parser"):
        PlatformSettings()


def test_uvicorns_own_access_log_is_off_as_ours_replaces_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # uvicorn formats its line's client address and quoted path for every answer, even when its
    # logger's level drops the line; ObservabilityMiddleware writes the service's access line.
    assert _served_with(monkeypatch, PlatformSettings())["access_log"] is False
