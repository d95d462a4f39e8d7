"""Role checks as FastAPI dependencies: 401 with WWW-Authenticate, 403 naming the role needed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from crm_shared.auth import ApiKeyAuthenticator, parse_api_keys
from crm_shared.http import (
    AdminAuth,
    EditorAuth,
    ViewerAuth,
    ViewerWithStore,
    install_problem_handlers,
)

KEYS = "view-key:acme:viewer,edit-key:acme:editor,admin-key:globex:admin"


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.state.authenticator = ApiKeyAuthenticator(parse_api_keys(KEYS))
    app.state.store = "the app's store"

    @app.get("/viewer")
    async def for_viewers(principal: ViewerAuth) -> dict[str, str]:
        return {"tenant": principal.tenant}

    @app.get("/viewer-with-store")
    async def for_viewers_with_store(caller: ViewerWithStore) -> dict[str, str]:
        return {"tenant": caller.principal.tenant, "store": str(caller.store)}

    @app.post("/editor")
    async def for_editors(principal: EditorAuth) -> dict[str, str]:
        return {"tenant": principal.tenant}

    @app.delete("/admin")
    async def for_admins(principal: AdminAuth) -> dict[str, str]:
        return {"tenant": principal.tenant}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("path", ["/viewer", "/viewer-with-store"])
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}, _bearer("nope")],
    ids=["missing", "other-scheme", "empty-token", "unknown-key"],
)
async def test_a_request_without_a_valid_key_is_401_asking_for_a_bearer_token(
    client: httpx.AsyncClient, headers: dict[str, str], path: str
) -> None:
    response = await client.get(path, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    ("method", "path", "key", "role"),
    [("POST", "/editor", "view-key", "editor"), ("DELETE", "/admin", "edit-key", "admin")],
)
async def test_a_role_too_low_is_403_naming_the_role_needed(
    client: httpx.AsyncClient, method: str, path: str, key: str, role: str
) -> None:
    response = await client.request(method, path, headers=_bearer(key))

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "www-authenticate" not in response.headers
    body = response.json()
    assert f"'{role}'" in body["detail"]
    assert body["required_role"] == role


@pytest.mark.parametrize(
    ("method", "path", "key", "tenant"),
    [
        ("GET", "/viewer", "view-key", "acme"),
        ("GET", "/viewer", "admin-key", "globex"),
        ("POST", "/editor", "edit-key", "acme"),
        ("POST", "/editor", "admin-key", "globex"),
        ("DELETE", "/admin", "admin-key", "globex"),
    ],
)
async def test_a_role_or_one_above_it_reaches_the_route_with_its_principal(
    client: httpx.AsyncClient, method: str, path: str, key: str, tenant: str
) -> None:
    response = await client.request(method, path, headers=_bearer(key))

    assert response.status_code == 200
    assert response.json() == {"tenant": tenant}


def test_the_openapi_document_declares_the_bearer_scheme() -> None:
    schemes = _app().openapi()["components"]["securitySchemes"]

    assert schemes["HTTPBearer"]["scheme"] == "bearer"


@pytest.mark.parametrize(("key", "tenant"), [("view-key", "acme"), ("admin-key", "globex")])
async def test_a_viewer_with_store_reaches_the_route_with_its_principal_and_the_apps_store(
    client: httpx.AsyncClient, key: str, tenant: str
) -> None:
    response = await client.get("/viewer-with-store", headers=_bearer(key))

    assert response.status_code == 200
    assert response.json() == {"tenant": tenant, "store": "the app's store"}


def test_a_viewer_with_store_is_documented_as_a_viewer_is() -> None:
    paths = _app().openapi()["paths"]
    viewer, with_store = paths["/viewer"]["get"], paths["/viewer-with-store"]["get"]

    assert with_store["security"] == viewer["security"] == [{"HTTPBearer": []}]
    assert with_store["responses"].keys() == viewer["responses"].keys() >= {"401", "403"}
    assert with_store.get("parameters") == viewer.get("parameters")
