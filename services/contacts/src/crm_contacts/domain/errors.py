"""Errors of the contacts domain; each carries its HTTP status."""

from __future__ import annotations

from dataclasses import dataclass

from crm_shared.problems import Conflict, ProblemError, Unprocessable

SUPPRESSED_DETAIL = "this person's data was erased at their request; they cannot be re-created"


class Gone(ProblemError):
    """The resource existed but was erased for good."""

    status = 410
    title = "Gone"


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field: its name and why.

    `reason` may quote the caller's own value back to them (an unknown option); `value_free`,
    when set, says the same without it, for messages that travel further (import warnings).
    """

    field: str
    reason: str
    value_free: str | None = None

    def describe(self) -> str:
        """The problem as a sentence naming the field."""
        return f"{self.field} {self.reason}"

    def without_value(self) -> FieldProblem:
        """The same problem, its reason quoting no value."""
        if self.value_free is None:
            return self
        return type(self)(self.field, self.value_free)


class InvalidFields(Unprocessable):
    """One or more contact fields are invalid; the problem body names each of them."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__(
            "; ".join(p.describe() for p in problems),
            extra={
                "errors": [
                    {"loc": ["body", p.field], "msg": p.reason, "type": "value_error"}
                    for p in problems
                ]
            },
        )


class SuppressedIdentity(Conflict):
    """The email or phone belongs to a person who was erased at their request."""

    def __init__(self) -> None:
        super().__init__(SUPPRESSED_DETAIL)
