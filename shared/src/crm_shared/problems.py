"""Domain errors that carry their HTTP status, rendered as RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any, ClassVar

# The members RFC 9457 defines; an error's extra fields never replace them.
_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


class ProblemError(Exception):
    """Base of every error a client can cause; `status` is the HTTP status it maps to."""

    status: int = 400
    title: str = "Bad Request"
    # Response headers the status calls for (e.g. WWW-Authenticate on a 401).
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """Render as a problem+json body."""
        body: dict[str, Any] = {
            "type": f"https://crm.example/problems/{self.title.lower().replace(' ', '-')}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        # RFC 9457's own members keep their meaning: an extra named `status` (a job's state,
        # say) would turn the HTTP status into a string and break the documented schema.
        body.update((k, v) for k, v in self.extra.items() if k not in _MEMBERS)
        return body

    def response_headers(self) -> dict[str, str]:
        """The headers to send with this error's response."""
        return dict(self.headers)


class BadRequest(ProblemError):
    status = 400
    title = "Bad Request"


class Unauthorized(ProblemError):
    status = 401
    title = "Unauthorized"
    # RFC 9110 section 11.6.1: a 401 names the scheme the client must use.
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}


class Forbidden(ProblemError):
    status = 403
    title = "Forbidden"


class NotFound(ProblemError):
    status = 404
    title = "Not Found"


class Conflict(ProblemError):
    status = 409
    title = "Conflict"


class PreconditionFailed(ProblemError):
    status = 412
    title = "Precondition Failed"


class PayloadTooLarge(ProblemError):
    status = 413
    title = "Payload Too Large"


class UnsupportedMediaType(ProblemError):
    status = 415
    title = "Unsupported Media Type"


class Unprocessable(ProblemError):
    status = 422
    title = "Unprocessable Content"


class TooManyRequests(ProblemError):
    status = 429
    title = "Too Many Requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, extra={"retry_after": retry_after})
        self.retry_after = retry_after

    def response_headers(self) -> dict[str, str]:
        """`Retry-After`: whole seconds until a request would be accepted again."""
        return {**self.headers, "Retry-After": str(self.retry_after)}
