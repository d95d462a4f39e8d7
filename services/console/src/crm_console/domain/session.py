"""A signed-in user's session: the API key stays server-side, never in the browser.

The browser holds only the session token (an HttpOnly cookie). Every replica finds the session
in the console's store by a hash of that token, and derives the CSRF token from it, so neither the
token nor the CSRF token is ever stored; the API key is stored sealed with a key derived from the
token (see adapters/sealing.py), so the store alone never yields a usable API key.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

Role = Literal["viewer", "editor", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "editor", "admin")
_RANK: dict[Role, int] = {"viewer": 0, "editor": 1, "admin": 2}


def new_token() -> str:
    """An unguessable token for a session id or a CSRF token."""
    return secrets.token_urlsafe(32)


def derived(token: str, purpose: str) -> bytes:
    """32 bytes derived from a session token for one purpose (lookup, CSRF, sealing).

    The token holds 256 random bits, so one SHA-256 with a distinct label per purpose suffices:
    knowing one derived value reveals neither the token nor another purpose's value.
    """
    return hashlib.sha256(f"crm-console/{purpose}\0{token}".encode()).digest()


def session_ref(token: str) -> str:
    """The id a session is stored under: a hash of its token (a leaked store opens nothing)."""
    return derived(token, "session-id").hex()


@dataclass(frozen=True)
class Session:
    """Who is signed in: the key they signed in with and its tenant role."""

    token: str
    api_key: str
    role: Role

    @property
    def ref(self) -> str:
        """The stored id of this session (and the owner of its held uploads)."""
        return session_ref(self.token)

    @property
    def csrf_token(self) -> str:
        """The token every change must carry; derived, so every replica knows it."""
        return base64.urlsafe_b64encode(derived(self.token, "csrf")).decode().rstrip("=")

    def allows(self, role: Role) -> bool:
        """True when the session's role is `role` or higher (admin > editor > viewer)."""
        return _RANK[self.role] >= _RANK[role]

    @property
    def can_edit(self) -> bool:
        """Editors and admins change data; viewers only read."""
        return self.allows("editor")

    @property
    def is_admin(self) -> bool:
        """Admins also handle privacy requests, the audit log and settings."""
        return self.allows("admin")

    def csrf_matches(self, token: str | None) -> bool:
        """Constant-time check of a form's or header's CSRF token."""
        return token is not None and secrets.compare_digest(token, self.csrf_token)
