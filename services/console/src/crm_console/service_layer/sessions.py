"""Sign-in sessions in the console's store, so any replica serves any signed-in request."""

from __future__ import annotations

from datetime import datetime, timedelta

from crm_console.adapters.repositories import SessionRepository, delete_expired
from crm_console.adapters.sealing import seal, unseal
from crm_console.domain.session import ROLES, Role, Session, new_token, session_ref
from crm_shared.clock import iso, utcnow
from crm_shared.storage import DocumentStore

# A request extends its session's life at most this often: not one store write per page.
TOUCH_EVERY = timedelta(minutes=1)


async def open_session(
    store: DocumentStore, *, api_key: str, role: Role, idle: timedelta
) -> Session:
    """A new session for a key whose role was checked; its token goes into the cookie."""
    token = new_token()
    session = Session(token=token, api_key=api_key, role=role)
    now = utcnow()
    doc = {
        "id": session.ref,
        "sealed_key": seal(api_key, token=token),
        "role": role,
        "last_seen": iso(now),
        "expires_at": iso(now + idle),
    }
    async with store.transaction() as tx:
        await SessionRepository(tx).put(doc)
    return session


async def find_session(
    store: DocumentStore, token: str | None, *, idle: timedelta
) -> Session | None:
    """The live session of a cookie's token, its life extended; None if unknown or expired."""
    if not token:
        return None
    ref = session_ref(token)
    async with store.reader() as reader:
        doc = await SessionRepository(reader).get(ref)
    now = utcnow()
    if doc is None or doc["expires_at"] <= iso(now) or doc.get("role") not in ROLES:
        return None
    api_key = unseal(str(doc.get("sealed_key", "")), token=token)
    if api_key is None:
        return None
    if now - datetime.fromisoformat(doc["last_seen"]) >= TOUCH_EVERY:
        async with store.transaction() as tx:
            await SessionRepository(tx).put(
                {**doc, "last_seen": iso(now), "expires_at": iso(now + idle)}
            )
    return Session(token=token, api_key=api_key, role=doc["role"])


async def close_session(store: DocumentStore, token: str) -> None:
    """Sign out: the session (and with it the sealed key) is deleted."""
    async with store.transaction() as tx:
        await SessionRepository(tx).delete(session_ref(token))


async def purge_expired(store: DocumentStore) -> int:
    """Delete expired sessions and abandoned uploads; how many documents went."""
    async with store.transaction() as tx:
        gone = await delete_expired(tx, now=iso(utcnow()))
    if gone:
        # Uploads hold personal data: let the store forget the deleted pages soon.
        store.forget_deleted()
    return gone
