"""OIDC bearer tokens: verified against the configured issuer's JWKS, tenant and roles from claims.

A token is accepted only if its signature checks against one of the issuer's published keys
(RS256/ES256, never `none` or HMAC), it is unexpired, and its issuer (and audience, when one is
configured) match. The caller's tenant and roles come from configurable claims (dotted paths
such as `realm_access.roles` reach into nested claims); the actor recorded is the subject.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt

from crm_shared.auth import ROLES, Principal
from crm_shared.problems import Unauthorized
from crm_shared.verified_tokens import VerifiedTokens

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")


@dataclass(frozen=True)
class OidcConfig:
    """Where tokens come from and which claims say the tenant and the roles."""

    issuer: str
    jwks_url: str = ""  # empty: discovered from the issuer's openid-configuration
    audience: str = ""  # empty: the audience is not checked
    tenant_claim: str = "tenant"
    roles_claim: str = "roles"
    leeway_seconds: int = 30
    # How long the issuer's key set is trusted before it is fetched again: a key the issuer
    # withdraws stops verifying tokens at most this long after.
    keys_lifespan_seconds: float = 300.0


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _roles(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        names = value.replace(",", " ").split()
    elif isinstance(value, list):
        names = [v for v in value if isinstance(v, str)]
    else:
        names = []
    return frozenset(names) & ROLES


def _identity(key: jwt.PyJWK) -> tuple[str | None, Any]:
    """A key as its id and public key, equal for the same key in a refreshed key set."""
    return key.key_id, key.key


class OidcVerifier:
    """Verifies bearer JWTs; the issuer's keys are fetched once and refreshed for unknown ids."""

    def __init__(self, config: OidcConfig) -> None:
        self._config = config
        self._jwks: jwt.PyJWKClient | None = None
        self._verified = VerifiedTokens()

    def _keys(self) -> jwt.PyJWKClient:
        if self._jwks is None:
            url = self._config.jwks_url or self._discover_jwks_url()
            # Keys come from the key set, cached for its lifespan only: PyJWT's per-key cache
            # (`cache_keys`) never expires, so a withdrawn key would keep verifying tokens.
            self._jwks = jwt.PyJWKClient(
                url, cache_keys=False, lifespan=self._config.keys_lifespan_seconds, timeout=5
            )
        return self._jwks

    def _discover_jwks_url(self) -> str:
        well_known = self._config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        with urllib.request.urlopen(well_known, timeout=5) as response:
            document = json.loads(response.read())
        return str(document["jwks_uri"])

    def cached(self, token: str) -> Principal | None:
        """The principal of a token verified before, if the full check would accept it now.

        No waiting: the issuer's keys are those held, never fetched (None when they are due for
        a refresh, so the full check runs and fetches them).
        """
        held = self._jwks.jwk_set_cache if self._jwks is not None else None
        keys = held.get() if held is not None else None
        if keys is None:
            return None
        return self._verified.get(token, [_identity(key) for key in keys.keys])

    def verify(self, token: str) -> Principal:
        """The principal a valid token names, or 401 (the reason, never the token's content)."""
        known = self.cached(token)
        if known is not None:
            return known
        config = self._config
        try:
            signing_key = self._keys().get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                signing_key.key,
                algorithms=list(ALGORITHMS),
                issuer=config.issuer,
                audience=config.audience or None,
                leeway=config.leeway_seconds,
                options={"require": ["exp", "iss", "sub"], "verify_aud": bool(config.audience)},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the bearer token has expired") from None
        except jwt.PyJWKClientConnectionError:
            log.warning("the OIDC issuer's keys cannot be fetched")
            raise Unauthorized("the bearer token cannot be verified now; retry later") from None
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as exc:
            raise Unauthorized(f"invalid bearer token ({type(exc).__name__})") from None
        tenant = _claim(claims, config.tenant_claim)
        if not isinstance(tenant, str) or not tenant:
            raise Unauthorized(f"the bearer token has no '{config.tenant_claim}' claim")
        principal = Principal(
            key_id=f"user:{claims['sub']}",  # the `<kind>:<name>` actor format
            tenant=tenant,
            roles=_roles(_claim(claims, config.roles_claim)),
        )
        self._verified.put(
            token,
            principal,
            expires=int(claims["exp"]),
            leeway=config.leeway_seconds,
            key=_identity(signing_key),
        )
        return principal
