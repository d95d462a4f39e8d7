"""Request types are as strict as the OpenAPI documents say, in every service, by class.

Pydantic's lax mode reads `"yes"`, `"off"`, `1` and `0` as booleans and a number as a moment;
a client (or schemathesis) reading `type: boolean` or `format: date-time` expects them refused.
So every boolean of a JSON body is a `Flag` and every date-time query parameter a `QueryMoment`
(crm_shared.validation): checked here on every route, so a new route cannot slip back to lax.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any, get_args, get_origin

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError

from crm_contacts.bootstrap import create_app as contacts_app
from crm_gdpr.bootstrap import create_app as gdpr_app
from crm_importer.bootstrap import create_app as importer_app
from crm_shared.validation import JSON_BOOLEAN, QUERY_MOMENT, Flag, QueryMoment
from crm_timeline.bootstrap import create_app as timeline_app

APPS: dict[str, Callable[[], FastAPI]] = {
    "contacts": contacts_app,
    "timeline": timeline_app,
    "importer": importer_app,
    "gdpr": gdpr_app,
}


def _lax(
    annotation: Any, scalar: type, marker: object, where: str, seen: set[type]
) -> Iterator[str]:
    """Where `annotation` holds `scalar` without `marker` among its metadata."""
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        if base is scalar:
            if marker not in metadata:
                yield where
            return
        yield from _lax(base, scalar, marker, where, seen)
    elif annotation is scalar:
        yield where
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        for name, field in annotation.model_fields.items():
            inner = f"{where}.{name}"
            if field.annotation is scalar:
                if marker not in field.metadata:
                    yield inner
            else:
                yield from _lax(field.annotation, scalar, marker, inner, seen)
    else:
        for arg in get_args(annotation):
            yield from _lax(arg, scalar, marker, where, seen)


def _params(dependant: Dependant, kind: str) -> Iterator[Any]:
    """The route's parameters of this kind (`body_params`, `query_params`), dependencies' too."""
    yield from getattr(dependant, kind)
    for dependency in dependant.dependencies:
        yield from _params(dependency, kind)


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # a router FastAPI includes lazily
            yield from _api_routes(route.original_router.routes)


def _routes(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    routes = list(_api_routes(app.routes))
    assert len(routes) > 5, "the routes were not found"
    for route in routes:
        yield f"{','.join(sorted(route.methods))} {route.path}", route


@pytest.mark.parametrize("service", list(APPS))
def test_every_json_body_boolean_is_true_or_false_only(
    platform_env: dict[str, str], service: str
) -> None:
    lax = [
        where
        for name, route in _routes(APPS[service]())
        for param in _params(route.dependant, "body_params")
        for where in _lax(param.field_info.annotation, bool, JSON_BOOLEAN, name, set())
    ]
    assert lax == []


@pytest.mark.parametrize("service", list(APPS))
def test_every_date_time_query_parameter_is_parsed_strictly(
    platform_env: dict[str, str], service: str
) -> None:
    lax = [
        f"{name} {param.name}"
        for name, route in _routes(APPS[service]())
        for param in _params(route.dependant, "query_params")
        for _ in _lax(param.field_info.annotation, datetime, QUERY_MOMENT, name, set())
    ]
    assert lax == []


@pytest.mark.parametrize("value", [0, 1, "true", "yes", "off", "1", None, []])
def test_a_flag_takes_only_a_json_boolean(value: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Flag).validate_python(value)


@pytest.mark.parametrize(
    "value",
    ["0", "1700000000", "2026-01-31", "2026-01-31T09:00:00", "2026-01-31 09:00:00Z", "yesterday"],
)
def test_a_query_moment_takes_only_rfc3339_with_an_offset(value: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(QueryMoment).validate_python(value)


def test_a_query_moment_is_read_in_utc() -> None:
    moment = TypeAdapter(QueryMoment).validate_python("2026-01-31T10:00:00+01:00")
    assert moment.isoformat() == "2026-01-31T09:00:00+00:00"
