"""Errors that retrying cannot fix: the consumer dead-letters them at once, naming no values.

What a refusal may say travels in dead-letter headers and log lines, which outlive an erasure:
the failing field's path and the kind of error, never the input. A path is built from the
model's own vocabulary only: a part of a pydantic `loc` the model does not declare (a dict key,
an unknown field's name: both chosen by the sender, so possibly an email or a name) is shown
as `*`.
"""

from __future__ import annotations

import enum
import functools
import re
import types
import typing
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

# Bounds on what a header may carry.
MAX_FIELDS = 20
MAX_PART = 64
# What stands for a part of a path the model does not declare.
UNDECLARED = "*"
_KIND = re.compile(r"[a-z_]{1,64}")


class PermanentMessageError(Exception):
    """A message that can never be handled (schema-invalid, unknown tenant or contact, ...).

    `reason` is a short slug, `fields` name the failing fields and `kinds` pair each with the
    kind of error (`<path>:<kind>`, e.g. `data.email:string_type`); none may quote a value,
    because all end up in dead-letter headers and logs.
    """

    def __init__(
        self, reason: str, *, fields: Sequence[str] = (), kinds: Sequence[str] = ()
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fields = tuple(fields)
        self.kinds = tuple(kinds)

    @classmethod
    def from_validation(
        cls, reason: str, error: ValidationError, *, model: type[BaseModel], prefix: str = ""
    ) -> PermanentMessageError:
        """The error for a pydantic failure against `model`, from each error's `loc` and type
        (never its `input` or message, which quote values)."""
        return cls(
            reason,
            fields=failing_fields(error, model=model, prefix=prefix),
            kinds=failing_kinds(error, model=model, prefix=prefix),
        )


def failing_fields(
    error: ValidationError, *, model: type[BaseModel], prefix: str = ""
) -> tuple[str, ...]:
    """The dotted paths of the fields a validation error names, sorted, without any value."""
    return _bounded(path for path, _ in _problems(error, model=model, prefix=prefix))


def failing_kinds(
    error: ValidationError, *, model: type[BaseModel], prefix: str = ""
) -> tuple[str, ...]:
    """`<path>:<kind>` for each error (kind: pydantic's error type, e.g. `missing`), sorted."""
    return _bounded(f"{path}:{kind}" for path, kind in _problems(error, model=model, prefix=prefix))


def field_path(parts: Iterable[str | int], names: Collection[str]) -> str:
    """A dotted path showing list positions and the declared `names`; any other part as `*`."""
    shown = []
    for part in parts:
        if part == "":
            continue
        if isinstance(part, int) or part in names:
            shown.append(str(part)[:MAX_PART])
        else:
            shown.append(UNDECLARED)
    return ".".join(shown)


def _problems(
    error: ValidationError, *, model: type[BaseModel], prefix: str
) -> Iterable[tuple[str, str]]:
    names = declared_names(model) | {prefix}
    for err in error.errors(include_url=False, include_input=False, include_context=False):
        path = field_path((prefix, *err["loc"]), names)
        if path:
            kind = err["type"] if _KIND.fullmatch(err["type"]) else "invalid"
            yield path, kind


def _bounded(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(items)))[:MAX_FIELDS]


@functools.cache
def declared_names(model: type[BaseModel]) -> frozenset[str]:
    """Every name the model and the models inside it declare: field names, aliases, literal
    values (a tagged union's tags), enum values and type names (pydantic names a union's member
    by its type in a `loc`). Nothing a sender chooses."""
    names: set[str] = set()
    seen: set[int] = set()  # by identity: annotations' metadata need not be hashable
    pending: list[Any] = [model]
    while pending:
        annotation = pending.pop()
        if id(annotation) in seen:
            continue
        seen.add(id(annotation))
        pending.extend(_inner(annotation, names))
    return frozenset(names)


def _inner(annotation: Any, names: set[str]) -> list[Any]:
    """Add the names one annotation declares; return the annotations inside it."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        names.update(str(value) for value in args)
        return []
    if origin is not None or isinstance(annotation, types.UnionType):
        # Generics, unions and Annotated: look inside (metadata is no annotation, and adds none).
        return [arg for arg in args if not isinstance(arg, str | int | float | bool | None)]
    if not isinstance(annotation, type):
        return []
    names.add(annotation.__name__)
    if issubclass(annotation, enum.Enum):
        names.update(str(member.value) for member in annotation)
    if not issubclass(annotation, BaseModel):
        return []
    inner = []
    for name, info in annotation.model_fields.items():
        names.add(name)
        names.update(a for a in (info.alias, info.validation_alias) if isinstance(a, str))
        inner.append(info.annotation)
    return inner
