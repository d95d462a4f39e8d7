"""OIDC bearer tokens from a test issuer whose JWKS this test serves on a local port."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from crm_shared.http import AdminAuth, ViewerAuth, install_problem_handlers
from crm_shared.oidc import OidcConfig, OidcVerifier
from crm_shared.problems import Unauthorized
from crm_shared.service import authenticator_for
from crm_shared.settings import PlatformSettings

KID = "test-key-1"
ISSUER = "https://issuer.test/realms/crm"
AUDIENCE = "crm-api"
_signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwks(published: dict[str, Any]) -> bytes:
    keys = [
        {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid}
        for kid, key in published.items()
    ]
    return json.dumps({"keys": [{**key, "use": "sig", "alg": "RS256"} for key in keys]}).encode()


class _JwksServer(ThreadingHTTPServer):
    """The issuer: the keys it publishes (kid -> private key) may change during a test."""

    published: dict[str, Any]


class _JwksHandler(BaseHTTPRequestHandler):
    server: _JwksServer

    def do_GET(self) -> None:
        body = (
            _jwks(self.server.published)
            if self.path == "/jwks.json"
            else json.dumps({"jwks_uri": f"http://{self.headers['host']}/jwks.json"}).encode()
        )
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def _issuer() -> Iterator[_JwksServer]:
    server = _JwksServer(("127.0.0.1", 0), _JwksHandler)
    server.published = {KID: _signing_key}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _url(server: _JwksServer) -> str:
    return f"http://127.0.0.1:{server.server_port}/jwks.json"


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    with _issuer() as server:
        yield _url(server)


def _token(key: Any = _signing_key, kid: str = KID, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-7f3a",
        "iat": now,
        "exp": now + 300,
        "crm": {"tenant": "acme", "roles": ["editor", "offline_access"]},
        **claims,
    }
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
async def client(jwks_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = PlatformSettings(
        crm_api_keys="plain-key:globex:viewer:dash",
        crm_oidc_issuer=ISSUER,
        crm_oidc_jwks_url=jwks_url,
        crm_oidc_audience=AUDIENCE,
        crm_oidc_tenant_claim="crm.tenant",
        crm_oidc_roles_claim="crm.roles",
    )
    app = FastAPI()
    install_problem_handlers(app)
    app.state.authenticator = authenticator_for(settings)

    @app.get("/whoami")
    async def whoami(principal: ViewerAuth) -> dict[str, Any]:
        return {
            "actor": principal.key_id,
            "tenant": principal.tenant,
            "roles": sorted(principal.roles),
        }

    @app.delete("/admin-only")
    async def admin_only(principal: AdminAuth) -> dict[str, str]:
        return {"tenant": principal.tenant}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_from_the_issuer_gives_its_tenant_roles_and_subject(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/whoami", headers=_bearer(_token()))
    assert response.status_code == 200, response.text
    assert response.json() == {"actor": "user:user-7f3a", "tenant": "acme", "roles": ["editor"]}
    # Roles come from the token: an editor is not an admin.
    denied = await client.delete("/admin-only", headers=_bearer(_token()))
    assert denied.status_code == 403


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda: _token(exp=int(time.time()) - 120), "expired"),
        (lambda: _token(key=_other_key), "wrongly signed"),
        (lambda: _token(iss="https://elsewhere.test"), "another issuer"),
        (lambda: _token(aud="another-api"), "another audience"),
        (lambda: _token(kid="unknown-kid"), "a key the issuer never published"),
        (lambda: _token(crm={"roles": ["admin"]}), "no tenant claim"),
        (lambda: _token().rsplit(".", 1)[0] + ".", "no signature"),
    ],
    ids=["expired", "wrong-key", "issuer", "audience", "kid", "tenant", "unsigned"],
)
async def test_a_token_that_fails_a_check_is_401(
    client: httpx.AsyncClient, token: Any, reason: str
) -> None:
    response = await client.get("/whoami", headers=_bearer(token()))
    assert response.status_code == 401, reason
    assert response.headers["www-authenticate"] == "Bearer"


async def test_api_keys_keep_working_next_to_tokens(client: httpx.AsyncClient) -> None:
    response = await client.get("/whoami", headers=_bearer("plain-key"))
    assert response.json() == {"actor": "key:dash", "tenant": "globex", "roles": ["viewer"]}


async def test_the_jwks_is_found_through_the_issuer_s_openid_configuration(
    jwks_url: str,
) -> None:
    issuer = jwks_url.removesuffix("/jwks.json")
    settings = PlatformSettings(crm_oidc_issuer=issuer)
    token = _token(iss=issuer, tenant="acme", roles="viewer")
    principal = authenticator_for(settings).authenticate(f"Bearer {token}")
    assert (principal.tenant, principal.roles) == ("acme", frozenset({"viewer"}))


def test_a_key_the_issuer_withdraws_stops_verifying_once_its_key_set_is_fetched_again() -> None:
    """Key rotation after a leak: tokens signed by the withdrawn key are refused, new or seen."""
    with _issuer() as server:
        lifespan = 0.3
        verifier = OidcVerifier(
            OidcConfig(
                issuer=ISSUER,
                jwks_url=_url(server),
                audience=AUDIENCE,
                tenant_claim="crm.tenant",
                keys_lifespan_seconds=lifespan,
            )
        )
        seen = _token()
        assert verifier.verify(seen).tenant == "acme"
        assert verifier.verify(_token(sub="another")).key_id == "user:another"

        server.published = {"test-key-2": _other_key}
        time.sleep(lifespan + 0.1)

        assert verifier.verify(_token(key=_other_key, kid="test-key-2")).tenant == "acme"
        for token in (seen, _token(sub="after-withdrawal")):
            with pytest.raises(Unauthorized):
                verifier.verify(token)
