"""Bearer API keys, each bound to one tenant, a set of roles and (optionally) a label.

Keys come from `CRM_API_KEYS` (`key:tenant:role[+role...][:label]`, comma-separated) and from the
file named by `CRM_API_KEYS_FILE`, which holds only SHA-256 hashes of keys, one
`sha256-hex:tenant:role[+role...]:label` per line (`python -m crm_shared.auth KEY TENANT ROLES
LABEL` prints such a line). The file is read again when it changes, so keys rotate without a
restart. Only hashes are kept in memory; the actor recorded for a caller is its key's label, or
a fingerprint of the key when it has none.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from crm_shared.actors import key_actor, valid_label
from crm_shared.problems import Forbidden, Unauthorized

log = logging.getLogger(__name__)

Role = Literal["admin", "editor", "viewer"]
ROLES: frozenset[str] = frozenset({"admin", "editor", "viewer"})
# A role grants itself and every role below it.
_IMPLIED: dict[str, frozenset[str]] = {
    "admin": frozenset({"admin", "editor", "viewer"}),
    "editor": frozenset({"editor", "viewer"}),
    "viewer": frozenset({"viewer"}),
}
# Labels end up in events and the audit log: plain names of systems or teams, never an email.
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# How often, at most, the key file's modification time is looked at.
RELOAD_CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class Principal:
    """Who is calling: its actor (`key:<label or fingerprint>`, never the key), tenant, roles.

    `key_id` is what every write records as its actor (see crm_shared.actors).
    """

    key_id: str
    tenant: str
    roles: frozenset[str]

    def require(self, role: Role) -> None:
        """Raise 403 unless this principal holds the role (or one that implies it)."""
        if not any(role in _IMPLIED[held] for held in self.roles):
            raise Forbidden(f"this action needs the '{role}' role", extra={"required_role": role})


def key_hash(key: str) -> str:
    """The SHA-256 of a key, hex: what the key file stores and what the table is keyed by."""
    return hashlib.sha256(key.encode()).hexdigest()


def fingerprint(key: str) -> str:
    """A short, non-reversible id for a key (12 hex digits), safe to log and to publish."""
    return key_hash(key)[:12]


def _principal(
    tenant: str, roles_text: str, label: str | None, digest: str, where: str
) -> Principal:
    if not tenant or not roles_text:
        raise ValueError(f"each entry of {where} needs a tenant and at least one role")
    roles = frozenset(roles_text.split("+"))
    unknown = roles - ROLES
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)} in {where}")
    name = valid_label(label) if label is not None else digest[:12]
    return Principal(key_id=key_actor(name), tenant=tenant, roles=roles)


def parse_api_keys(spec: str) -> dict[str, Principal]:
    """Parse `key:tenant:role[+role...][:label]` entries separated by commas.

    The label names the key in events and the audit log (`key:<label>`); without one the key's
    fingerprint does (`key:<12 hex digits>`).
    """
    keys: dict[str, Principal] = {}
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) not in (3, 4) or not parts[0]:
            raise ValueError("each API key entry must be key:tenant:role[+role...][:label]")
        label = parts[3] if len(parts) == 4 else None
        keys[parts[0]] = _principal(parts[1], parts[2], label, key_hash(parts[0]), "CRM_API_KEYS")
    if not keys:
        raise ValueError("no API keys configured")
    return keys


def parse_key_file(text: str) -> dict[str, Principal]:
    """Parse a key file: `sha256-hex:tenant:role[+role...]:label` lines; '#' starts a comment."""
    hashed: dict[str, Principal] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) != 4 or not _SHA256_HEX.match(parts[0]):
            raise ValueError(
                f"line {number} of CRM_API_KEYS_FILE must be sha256-hex:tenant:roles:label"
            )
        hashed[parts[0]] = _principal(parts[1], parts[2], parts[3], parts[0], "CRM_API_KEYS_FILE")
    return hashed


class TokenVerifier(Protocol):
    """Something else that may vouch for a bearer token (an OIDC issuer)."""

    def verify(self, token: str) -> Principal:
        """The principal the token names, or raise 401."""
        ...


class ApiKeyAuthenticator:
    """Resolves an Authorization header to a Principal: an API key, or a JWT from the issuer."""

    def __init__(
        self,
        keys: dict[str, Principal],
        *,
        key_file: Path | None = None,
        tokens: TokenVerifier | None = None,
    ) -> None:
        self._tokens = tokens
        self._static = {key_hash(key): principal for key, principal in keys.items()}
        self._key_file = key_file
        self._file_keys: dict[str, Principal] = {}
        self._file_mtime: float | None = None
        self._checked_at = 0.0
        if key_file is not None:
            self._file_keys = parse_key_file(key_file.read_text())
            self._file_mtime = key_file.stat().st_mtime

    def _reload_if_changed(self) -> None:
        """Read the key file again when its modification time changed (rotation)."""
        if self._key_file is None:
            return
        now = time.monotonic()
        if now - self._checked_at < RELOAD_CHECK_SECONDS:
            return
        self._checked_at = now
        try:
            mtime = self._key_file.stat().st_mtime
            if mtime == self._file_mtime:
                return
            self._file_keys = parse_key_file(self._key_file.read_text())
            self._file_mtime = mtime
            log.info("API key file reloaded: %d key(s)", len(self._file_keys))
        except (OSError, ValueError) as exc:
            # The keys already loaded stay in force; the error names no key or value.
            log.warning("API key file not reloaded (%s); keeping the previous keys", exc)

    @property
    def tenants(self) -> list[str]:
        """Every tenant a configured key (static or from the key file) belongs to, sorted."""
        self._reload_if_changed()
        keys = [*self._static.values(), *self._file_keys.values()]
        return sorted({p.tenant for p in keys})

    def authenticate(self, authorization: str | None) -> Principal:
        """Return the caller's principal, or raise 401."""
        found = self.authenticate_key(authorization)
        if found is not None:
            return found
        assert self._tokens is not None  # authenticate_key answers None only for a token
        return self._tokens.verify(_bearer_token(authorization))

    def authenticate_key(self, authorization: str | None) -> Principal | None:
        """The principal of an API key, or raise 401; None for a JWT the issuer must verify.

        No waiting: a hash and a look-up (plus, at most once a second, the key file's
        modification time), so an event loop may call it; only `authenticate` on a JWT may
        fetch the issuer's keys. A JWT the issuer verified before is answered here when the
        issuer's check would still accept it (crm_shared.verified_tokens).
        """
        token = _bearer_token(authorization)
        self._reload_if_changed()
        digest = key_hash(token)
        found = self._file_keys.get(digest) or self._static.get(digest)
        if found is not None:
            return found
        if self._tokens is not None and token.count(".") == 2:
            # A JWT: only the issuer can vouch for it, unless it did already and its answer still
            # holds (crm_shared.verified_tokens; an issuer may not keep any: `cached` optional).
            cached = getattr(self._tokens, "cached", None)
            return cached(token) if cached is not None else None
        raise Unauthorized("unknown API key")


def _bearer_token(authorization: str | None) -> str:
    """The token of a `Bearer <token>` header, or raise 401."""
    if not authorization:
        raise Unauthorized("missing Authorization header; send 'Authorization: Bearer <key>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <key>'")
    return token.strip()


def main(argv: list[str] | None = None) -> int:
    """Print the key file line of a key: `python -m crm_shared.auth KEY TENANT ROLES LABEL`."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    key, tenant, roles, label = args
    _principal(tenant, roles, label, key_hash(key), "the arguments")
    print(f"{key_hash(key)}:{tenant}:{roles}:{label}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
