"""What a log line says it was about: the request or event being handled, and its tenant.

The HTTP middleware and the consumer loop set one `WorkContext` per request or event; code below
them (the auth dependency) fills in what it learns. The object is shared, not copied, so a value
set in a thread-pool dependency is still seen by the middleware's access line.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass
class WorkContext:
    """Ids of the unit of work being handled: an HTTP request, a consumed event or a job."""

    request_id: str | None = None
    event_id: str | None = None
    tenant: str | None = None
    job_id: str | None = None  # a background job (an import) being worked on


_current: ContextVar[WorkContext | None] = ContextVar("crm_work_context", default=None)


def current_work() -> WorkContext | None:
    """The unit of work being handled in this task, if any."""
    return _current.get()


def working_on(work: WorkContext) -> contextlib.AbstractContextManager[WorkContext]:
    """Make `work` the current unit of work for the code inside the block."""
    return _Working(work)


class _Working:
    """`working_on`'s block: a class, as every request and handled event opens one (a generator
    context manager cost several times the context variable's set and reset)."""

    __slots__ = ("_token", "_work")

    def __init__(self, work: WorkContext) -> None:
        self._work = work
        self._token: Token[WorkContext | None] | None = None

    def __enter__(self) -> WorkContext:
        self._token = _current.set(self._work)
        return self._work

    def __exit__(self, *exc_info: object) -> None:
        assert self._token is not None
        _current.reset(self._token)


def set_tenant(tenant: str) -> None:
    """Record the tenant of the current unit of work (once the caller is authenticated)."""
    work = _current.get()
    if work is not None:
        work.tenant = tenant
