"""The API key at rest: sealed (AES-256-GCM) under a key only the session's token gives.

The store keeps the sealed key next to the hash of the token; the token itself lives only in
the browser's cookie. Whoever reads the store (a backup, a replica's disk) cannot use the keys.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crm_console.domain.session import derived

_NONCE_BYTES = 12


def seal(api_key: str, *, token: str) -> str:
    """The key encrypted and authenticated under the token, as text for a document."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(derived(token, "seal")).encrypt(nonce, api_key.encode(), None)
    return base64.b64encode(nonce + sealed).decode()


def unseal(sealed: str, *, token: str) -> str | None:
    """The key sealed under this token; None if the text was not sealed with it."""
    try:
        raw = base64.b64decode(sealed, validate=True)
        plain = AESGCM(derived(token, "seal")).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None)
    except (ValueError, InvalidTag):
        return None
    return plain.decode()
