"""Signing in with an API key: find which role the key has by asking the services."""

from __future__ import annotations

from crm_console.adapters.api import ApiError, PlatformApi, Service
from crm_console.domain.session import Role


class KeyRefused(Exception):
    """The services do not accept the key; the message says so without quoting it."""


async def detect_role(api: PlatformApi, key: str) -> Role:
    """The key's role: admin if it reads the audit log, editor if it lists deleted contacts.

    The services have no "who am I" call; the probes read one item at most and change nothing.
    """
    try:
        await api.get("contacts", "/v1/contacts", key=key, params={"limit": 1})
    except ApiError as exc:
        if exc.status in (401, 403):
            raise KeyRefused("this API key is not accepted") from None
        raise
    if await _allowed(api, "gdpr", "/v1/audit-log", key, {"limit": 1}):
        return "admin"
    if await _allowed(api, "contacts", "/v1/contacts", key, {"limit": 1, "deleted": "true"}):
        return "editor"
    return "viewer"


async def _allowed(
    api: PlatformApi, service: Service, path: str, key: str, params: dict[str, object]
) -> bool:
    try:
        await api.send(service, "GET", path, key=key, params=params)
    except ApiError as exc:
        if exc.status == 403:
            return False
        raise
    return True
