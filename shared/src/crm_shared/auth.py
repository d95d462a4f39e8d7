"""Bearer API keys, each bound to one tenant and a set of roles."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

from crm_shared.problems import Forbidden, Unauthorized

Role = Literal["admin", "editor", "viewer"]
ROLES: frozenset[str] = frozenset({"admin", "editor", "viewer"})
# A role grants itself and every role below it.
_IMPLIED: dict[str, frozenset[str]] = {
    "admin": frozenset({"admin", "editor", "viewer"}),
    "editor": frozenset({"editor", "viewer"}),
    "viewer": frozenset({"viewer"}),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's fingerprint (never the key), its tenant and its roles."""

    key_id: str
    tenant: str
    roles: frozenset[str]

    def require(self, role: Role) -> None:
        """Raise 403 unless this principal holds the role (or one that implies it)."""
        if not any(role in _IMPLIED[held] for held in self.roles):
            raise Forbidden(f"this action needs the '{role}' role", extra={"required_role": role})


def fingerprint(key: str) -> str:
    """A short, non-reversible id for a key, safe to log and to record as the actor."""
    return "key_" + hashlib.sha256(key.encode()).hexdigest()[:12]


def parse_api_keys(spec: str) -> dict[str, Principal]:
    """Parse `key:tenant:role[+role...]` entries separated by commas."""
    keys: dict[str, Principal] = {}
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) != 3 or not all(parts):
            raise ValueError("each API key entry must be key:tenant:role[+role...]")
        key, tenant, roles_text = parts
        roles = frozenset(roles_text.split("+"))
        unknown = roles - ROLES
        if unknown:
            raise ValueError(f"unknown role(s) {sorted(unknown)} in CRM_API_KEYS")
        keys[key] = Principal(key_id=fingerprint(key), tenant=tenant, roles=roles)
    if not keys:
        raise ValueError("no API keys configured")
    return keys


class ApiKeyAuthenticator:
    """Resolves an Authorization header to a Principal, comparing keys in constant time."""

    def __init__(self, keys: dict[str, Principal]) -> None:
        self._keys = keys

    @property
    def tenants(self) -> list[str]:
        """Every tenant a configured key belongs to, sorted."""
        return sorted({p.tenant for p in self._keys.values()})

    def authenticate(self, authorization: str | None) -> Principal:
        """Return the caller's principal, or raise 401."""
        if not authorization:
            raise Unauthorized("missing Authorization header; send 'Authorization: Bearer <key>'")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <key>'")
        token = token.strip()
        found: Principal | None = None
        for key, principal in self._keys.items():
            if hmac.compare_digest(key.encode(), token.encode()):
                found = principal
        if found is None:
            raise Unauthorized("unknown API key")
        return found
