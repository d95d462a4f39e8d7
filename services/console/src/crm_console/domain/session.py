"""A signed-in user's session: the API key stays here, server-side, never in the browser."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

Role = Literal["viewer", "editor", "admin"]
_RANK: dict[Role, int] = {"viewer": 0, "editor": 1, "admin": 2}


def new_token() -> str:
    """An unguessable token for a session id or a CSRF token."""
    return secrets.token_urlsafe(32)


@dataclass
class Session:
    """Who is signed in: the key they signed in with, its tenant role, and a CSRF token."""

    api_key: str
    role: Role
    id: str = field(default_factory=new_token)
    csrf_token: str = field(default_factory=new_token)
    last_seen: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Erasure requests made in this session, newest first (the API has no list of them).
    erasures: list[str] = field(default_factory=list)

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

    def expired(self, now: datetime, idle: timedelta) -> bool:
        """True when the session was not used for longer than `idle`."""
        return now - self.last_seen > idle

    def csrf_matches(self, token: str | None) -> bool:
        """Constant-time check of a form's or header's CSRF token."""
        return token is not None and secrets.compare_digest(token, self.csrf_token)
