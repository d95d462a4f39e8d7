"""Errors of the gdpr service that shared/ has no class for, carrying their HTTP status."""

from __future__ import annotations

from crm_shared.problems import Conflict, ProblemError


class ServiceUnavailable(ProblemError):
    """Another service this request depends on cannot be reached or answered with an error."""

    status = 503
    title = "Service Unavailable"


class ContactErased(Conflict):
    """The contact was already erased (the contacts service answered 410 Gone)."""

    def __init__(self, detail: str = "contact already erased") -> None:
        super().__init__(detail)
