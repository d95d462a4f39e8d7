"""`Idempotency-Key` on the POSTs that create something: a retry returns the first answer.

A route opts in with one dependency, `dependencies=[Idempotent]` on its decorator (or, for a
streamed upload, an `IdempotentUpload` parameter it calls once it has read the body):

- a key's first request claims it (scoped to the tenant and the API key), does its work, and its
  2xx answer (status, body, `Content-Type`, `Location`, `ETag`) is kept for 24 hours; a replay
  gets that answer again, with `Idempotent-Replayed: true`, without doing the work again. The
  answer commits in the same transaction as the route's (last) write transaction
  (`crm_shared.idempotent_work`), so a process killed at any point leaves either both (the retry
  replays) or neither (the retry does the work); a commit that loses a write conflict answers
  409 and keeps nothing;
- the same key with another request (method, path, query or body differ) is a 422;
- the same key while its first request is still running is a 409 with `Retry-After: 1` (a claim
  older than a minute is taken to have died with its process and may be taken over);
- a request that fails releases the key, so a retry with the same key does the work: on a 5xx
  or an exception the work it held is rolled back; a 4xx answer commits what the route wrote
  (a refusal it records, say) and is not kept.

The fingerprint of a JSON body is taken on its canonical form (keys sorted), so a client that
re-serialises the same object is not refused. A streamed upload is fingerprinted by the route
from what it parsed (the file's SHA-256, computed while the file streams to disk, and the form
fields), so the file is never buffered twice and a new multipart boundary is not a new body.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_shared import idempotency_records as records
from crm_shared.auth import Principal
from crm_shared.clock import utcnow
from crm_shared.http import PROBLEM_JSON, CurrentPrincipal
from crm_shared.idempotent_work import SCOPE_KEY as WORK_SCOPE_KEY
from crm_shared.idempotent_work import RequestWork
from crm_shared.problems import Conflict, Unprocessable
from crm_shared.storage import ConcurrentWriteError, DocumentStore, Session

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_SLOT = "crm.idempotency"
KEY_PATTERN = r"^[!-~]{1,255}$"


class IdempotencyKeyInFlight(Conflict):
    """The key's first request has not answered yet."""

    headers = {"Retry-After": "1"}


class IdempotencyKeyReused(Unprocessable):
    """The key was first used for another request."""


class IdempotentReplay(Exception):  # not an error: the first answer, sent again
    """Raised to answer a replay with the stored response."""

    def __init__(self, response: records.StoredResponse) -> None:
        super().__init__("idempotent replay")
        self.response = response


@dataclass
class _Claim:
    store: DocumentStore
    tenant: str
    id: str


@dataclass
class _Slot:
    """Where a route's claim waits for the response the middleware sees."""

    work: RequestWork
    claim: _Claim | None = None
    response: list[Message] = field(default_factory=list)


def _clock(request: Request) -> Callable[[], datetime]:
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", utcnow)
    return clock


class IdempotencyGuard:
    """A route's handle on its key: `claim` binds the key to the request's fingerprint."""

    def __init__(self, request: Request, principal: Principal, key: str | None) -> None:
        self._request = request
        self._principal = principal
        self.key = key

    async def claim(self, body_digest: str, *, subjects: list[str] | None = None) -> None:
        """Claim the key, or raise: the stored answer (replay), 409 (in flight) or 422 (reused)."""
        if self.key is None:
            return
        request = self._request
        slot: _Slot | None = request.scope.get(_SLOT)
        if slot is None:
            raise RuntimeError("install_idempotency(app) was not called")
        principal = self._principal
        store: DocumentStore = request.app.state.store
        id = records.record_id(tenant=principal.tenant, principal=principal.key_id, key=self.key)
        fingerprint = records.request_fingerprint(
            request.method, request.url.path, request.url.query, body_digest
        )
        result = await records.claim(
            store,
            tenant=principal.tenant,
            id=id,
            fingerprint=fingerprint,
            now=_clock(request)(),
            subjects=[*records.subjects_of(dict(request.path_params)), *(subjects or [])],
        )
        if result.outcome == "claimed":
            slot.claim = _Claim(store, principal.tenant, id)
            slot.work.claimed()
        elif result.outcome == "replay" and result.response is not None:
            raise IdempotentReplay(result.response)
        elif result.outcome == "mismatch":
            raise IdempotencyKeyReused(
                f"this {HEADER} was used for a different request (method, path or body); "
                "send a new key for a new request",
                extra={"field": HEADER},
            )
        else:
            raise IdempotencyKeyInFlight(
                f"a request with this {HEADER} is still in progress; retry in a moment",
                extra={"field": HEADER},
            )


KeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        pattern=KEY_PATTERN,
        description="A unique key per intended change (e.g. a UUID): a retry with the same key "
        "within 24 hours returns the first answer instead of doing the work again.",
    ),
]


async def _guard(
    request: Request, principal: CurrentPrincipal, key: KeyHeader = None
) -> IdempotencyGuard:
    return IdempotencyGuard(request, principal, key)


async def _idempotent_json(
    request: Request, principal: CurrentPrincipal, key: KeyHeader = None
) -> None:
    guard = IdempotencyGuard(request, principal, key)
    if guard.key is not None:
        body = await request.body()
        await guard.claim(
            records.json_body_digest(body), subjects=records.subjects_of(records.parsed(body))
        )


# `dependencies=[Idempotent]` on a route with a JSON body (or none): the one line to opt in.
Idempotent = Depends(_idempotent_json)
# A route that streams its body takes this and calls `await guard.claim(digest)` once it has it.
IdempotentUpload = Annotated[IdempotencyGuard, Depends(_guard)]


class IdempotencyMiddleware:
    """Keeps a claimed key's 2xx answer before sending it; releases the key on any failure."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    def leaves_alone(scope: Scope) -> bool:
        """Whether this request passes through untouched (crm_shared.fast_get skips it then)."""
        return scope["type"] != "http" or bool(scope["method"] != "POST")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.leaves_alone(scope):
            await self.app(scope, receive, send)
            return
        slot = _Slot(RequestWork())
        scope[_SLOT] = slot
        scope[WORK_SCOPE_KEY] = slot.work
        done = False

        async def send_after_keeping(message: Message) -> None:
            nonlocal done
            if slot.claim is None or done:
                await send(message)
                return
            slot.response.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                held = await _settle(slot.claim, slot.work, slot.response)
                done = True
                slot.work.finish()
                for kept in held:
                    await send(kept)

        try:
            await self.app(scope, receive, send_after_keeping)
        except BaseException:
            if slot.claim is not None and not done:
                await slot.work.roll_back_held()
                await _release_quietly(slot.claim)
            raise
        finally:
            slot.work.finish()
        if slot.claim is not None and not done:
            await slot.work.roll_back_held()
            await _release_quietly(slot.claim)


async def _settle(claim: _Claim, work: RequestWork, messages: list[Message]) -> list[Message]:
    """Commit the work with its answer kept; the messages to send (a 409 if the commit lost)."""
    start = messages[0]
    status = int(start["status"])
    if status >= 500:
        await work.roll_back_held()
        await _release_quietly(claim)
        return messages
    if status >= 300:
        await work.commit_held()  # a deliberate answer: what the route recorded stands
        await _release_quietly(claim)
        return messages
    headers = [
        (k.decode("latin-1"), v.decode("latin-1"))
        for k, v in start.get("headers", [])
        if k.decode("latin-1").lower() in records.REPLAYED_HEADERS
    ]
    body = b"".join(m.get("body", b"") for m in messages[1:])
    response = records.StoredResponse(status=status, headers=headers, body=body)
    subjects = records.subjects_of(records.parsed(body))

    async def keep(session: Session) -> None:
        await records.complete_in(
            session, tenant=claim.tenant, id=claim.id, response=response, subjects=subjects
        )

    try:
        if not await work.commit_with(keep):
            # The route wrote nothing through its store: there is no work to lose, only the answer.
            await records.complete(
                claim.store, tenant=claim.tenant, id=claim.id, response=response, subjects=subjects
            )
    except ConcurrentWriteError:
        # Nothing committed: the client retries with the same key and the work is done then.
        await _release_quietly(claim)
        return _concurrent_write(messages)
    return messages


def _concurrent_write(messages: list[Message]) -> list[Message]:
    """The 409 a write conflict answers anywhere (crm_shared.http), for a commit that lost one."""
    body = orjson.dumps(
        {
            "type": "https://crm.example/problems/concurrent-write",
            "title": "Conflict",
            "status": 409,
            "detail": "another change to the same data committed first; retry the request",
        }
    )
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return [
        {"type": "http.response.start", "status": 409, "headers": headers},
        {"type": "http.response.body", "body": body, "more_body": False},
    ]


async def _release_quietly(claim: _Claim) -> None:
    try:
        await records.release(claim.store, tenant=claim.tenant, id=claim.id)
    except Exception:
        log.exception("could not release an idempotency key (it lapses in a minute)")


_IN_FLIGHT_RESPONSE: dict[str, Any] = {
    "description": f"A request with this {HEADER} is still in progress (retry after a moment).",
    "content": {"application/problem+json": {"schema": {"type": "object"}}},
}


def _document_in_flight_answers(app: FastAPI) -> None:
    """Declare the 409 an in-flight key gives on every route that takes the header."""
    generate = app.openapi
    declared: dict[str, Any] | None = None

    def openapi() -> dict[str, Any]:
        nonlocal declared
        schema = generate()
        # Once per generated document: the 405 check of literal paths reads it on every request.
        if schema is declared:
            return schema
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                parameters = operation.get("parameters", []) if isinstance(operation, dict) else []
                if any(p.get("name") == HEADER for p in parameters):
                    operation.setdefault("responses", {}).setdefault("409", _IN_FLIGHT_RESPONSE)
        declared = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_idempotency(app: FastAPI) -> None:
    """Add the middleware that keeps answers and the handler that replays them."""
    app.add_middleware(IdempotencyMiddleware)
    _document_in_flight_answers(app)

    @app.exception_handler(IdempotentReplay)
    async def _replay(request: Request, exc: IdempotentReplay) -> Response:
        stored = exc.response
        headers: dict[str, Any] = dict(stored.headers)
        headers[REPLAYED_HEADER] = "true"
        return Response(content=stored.body, status_code=stored.status, headers=headers)


PURGE_INTERVAL_SECONDS = 600.0


async def purge_loop(app: FastAPI, *, interval: float = PURGE_INTERVAL_SECONDS) -> None:
    """Delete expired keys of every configured tenant now and then (answers may be personal)."""
    while True:
        try:
            await records.purge_expired(
                app.state.store, tenants=app.state.authenticator.tenants, now=utcnow()
            )
        except Exception:
            log.exception("idempotency key purge failed; retrying at the next interval")
        await asyncio.sleep(interval)
