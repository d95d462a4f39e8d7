"""Sessions in the console's memory: a restart signs everybody out, and no key touches a disk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm_console.domain.session import Role, Session


class SessionStore:
    """Sessions by id, dropped after `idle` without use."""

    def __init__(self, idle: timedelta) -> None:
        self._idle = idle
        self._sessions: dict[str, Session] = {}

    def create(self, *, api_key: str, role: Role) -> Session:
        """Open a session for a key whose role was checked."""
        self._drop_expired()
        session = Session(api_key=api_key, role=role)
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id, touched; None when unknown or expired."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        now = datetime.now(UTC)
        if session is None or session.expired(now, self._idle):
            self._sessions.pop(session_id, None)
            return None
        session.last_seen = now
        return session

    def delete(self, session_id: str | None) -> None:
        """Sign a session out."""
        if session_id:
            self._sessions.pop(session_id, None)

    def _drop_expired(self) -> None:
        now = datetime.now(UTC)
        for sid in [sid for sid, s in self._sessions.items() if s.expired(now, self._idle)]:
            del self._sessions[sid]
