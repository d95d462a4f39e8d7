"""Errors that retrying cannot fix: the consumer dead-letters them at once, naming no values."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

# Bounds on what a header may carry: a dict key in a `loc` is the one part a sender chooses.
MAX_FIELDS = 20
MAX_PART = 64


class PermanentMessageError(Exception):
    """A message that can never be handled (schema-invalid, unknown tenant or contact, ...).

    `reason` is a short slug and `fields` name the failing fields; neither may quote a value,
    because both end up in dead-letter headers and logs.
    """

    def __init__(self, reason: str, *, fields: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fields = tuple(fields)

    @classmethod
    def from_validation(
        cls, reason: str, error: ValidationError, *, prefix: str = ""
    ) -> PermanentMessageError:
        """The error for a pydantic failure, built from each error's `loc` only (never `input`)."""
        return cls(reason, fields=failing_fields(error, prefix=prefix))


def failing_fields(error: ValidationError, *, prefix: str = "") -> tuple[str, ...]:
    """The dotted paths of the fields a validation error names, sorted, without any value."""
    paths = {
        ".".join(str(part)[:MAX_PART] for part in (prefix, *err["loc"]) if part != "")
        for err in error.errors(include_url=False, include_input=False, include_context=False)
    }
    return tuple(sorted(p for p in paths if p))[:MAX_FIELDS]
