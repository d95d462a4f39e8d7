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


class OidcVerifier:
    """Verifies bearer JWTs; the issuer's keys are fetched once and refreshed for unknown ids."""

    def __init__(self, config: OidcConfig) -> None:
        self._config = config
        self._jwks: jwt.PyJWKClient | None = None

    def _keys(self) -> jwt.PyJWKClient:
        if self._jwks is None:
            url = self._config.jwks_url or self._discover_jwks_url()
            self._jwks = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)
        return self._jwks

    def _discover_jwks_url(self) -> str:
        well_known = self._config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        with urllib.request.urlopen(well_known, timeout=5) as response:
            document = json.loads(response.read())
        return str(document["jwks_uri"])

    def verify(self, token: str) -> Principal:
        """The principal a valid token names, or 401 (the reason, never the token's content)."""
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
        return Principal(
            key_id=f"user:{claims['sub']}",  # the `<kind>:<name>` actor format
            tenant=tenant,
            roles=_roles(_claim(claims, config.roles_claim)),
        )
