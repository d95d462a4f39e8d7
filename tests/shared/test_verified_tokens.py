"""A JWT verified once is admitted again without its signature check, while the check would pass."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest

from crm_shared.auth import ApiKeyAuthenticator, Principal
from crm_shared.oidc import OidcConfig, OidcVerifier
from crm_shared.verified_tokens import VerifiedTokens
from tests.shared import test_oidc
from tests.shared.test_oidc import AUDIENCE, ISSUER, _token, jwks_url  # noqa: F401 (fixture)

ADA = Principal(key_id="user:ada", tenant="acme", roles=frozenset({"viewer"}))


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _verifier(url: str) -> OidcVerifier:
    config = OidcConfig(
        issuer=ISSUER,
        jwks_url=url,
        audience=AUDIENCE,
        tenant_claim="crm.tenant",
        roles_claim="crm.roles",
    )
    return OidcVerifier(config)


def _counting_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    decoded: list[str] = []
    original = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return original(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return decoded


def test_a_token_sent_again_is_admitted_on_the_loop_without_a_signature_check(
    jwks_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = _verifier(jwks_url)
    authenticator = ApiKeyAuthenticator({}, tokens=verifier)
    decoded = _counting_decodes(monkeypatch)
    token = _token()
    header = f"Bearer {token}"
    assert authenticator.authenticate_key(header) is None  # never verified: the issuer's turn
    first = authenticator.authenticate(header)
    again = authenticator.authenticate_key(header)
    assert again == first and first.key_id == "user:user-7f3a"
    assert authenticator.authenticate(header) == first
    assert len(decoded) == 1
    other = _token(sub="user-other")
    assert authenticator.authenticate_key(f"Bearer {other}") is None
    assert authenticator.authenticate(f"Bearer {other}").key_id == "user:user-other"
    assert len(decoded) == 2


def test_a_withdrawn_key_stops_answering_from_the_cache_once_the_keys_are_fetched_again(
    jwks_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = _verifier(jwks_url)
    token = _token()
    assert verifier.verify(token).tenant == "acme"
    held = verifier._keys().jwk_set_cache
    assert held is not None
    held.lifespan = 0  # the held keys are due for a refresh: nothing is answered from the cache
    time.sleep(0.01)
    assert verifier.cached(token) is None
    verifier._keys().get_jwk_set()  # fetched again, the same key published: answered again
    held.lifespan = 300
    assert verifier.cached(token) is not None
    monkeypatch.setattr(test_oidc, "_jwks", lambda _published: json.dumps({"keys": []}).encode())
    held.lifespan = 0
    time.sleep(0.01)
    with pytest.raises(jwt.PyJWKSetError):
        verifier._keys().get_jwk_set()  # the issuer withdrew its key
    assert verifier.cached(token) is None


def test_a_cached_token_expires_by_the_verifiers_rule() -> None:
    clock = _Clock()
    tokens = VerifiedTokens(clock=clock)
    key = object()
    tokens.put("a.b.c", ADA, expires=1000, leeway=30, key=key)
    clock.now = 1029.9
    assert tokens.get("a.b.c", [key]) == ADA
    clock.now = 1030.0  # PyJWT: expired once exp <= now - leeway
    assert tokens.get("a.b.c", [key]) is None


def test_a_cached_token_needs_the_very_key_that_verified_it_among_the_keys_held() -> None:
    tokens = VerifiedTokens(clock=_Clock())
    key, refreshed = object(), object()
    tokens.put("a.b.c", ADA, expires=5000, leeway=0, key=key)
    assert tokens.get("a.b.c", [refreshed, key]) == ADA
    assert tokens.get("a.b.c", [refreshed]) is None
    assert tokens.get("x.y.z", [key]) is None


def test_the_cache_is_bounded_and_keeps_digests_not_tokens() -> None:
    tokens = VerifiedTokens(max_tokens=2, clock=_Clock())
    key = object()
    for token in ("t.o.1", "t.o.2", "t.o.3"):
        tokens.put(token, ADA, expires=5000, leeway=0, key=key)
    assert tokens.get("t.o.1", [key]) is None
    assert tokens.get("t.o.2", [key]) == ADA and tokens.get("t.o.3", [key]) == ADA
    kept = tokens._kept
    assert len(kept) == 2 and all(isinstance(k, bytes) and b"t.o" not in k for k in kept)
