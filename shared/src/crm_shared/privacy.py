"""Keyed hashes of personal identifiers, for the suppression list and erasure look-ups."""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache

_NON_DIGITS = re.compile(r"[^\d+]")


@lru_cache(maxsize=4096)
def _ascii_domain(domain: str) -> str:
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def normalize_email(email: str) -> str:
    """Trim, lower-case and IDNA-encode the domain, the form every service hashes and compares.

    `zoe@bücher.de` and `zoe@xn--bcher-kva.de` are one address: without the IDNA step a hash of
    the typed form (a failed import row) would never match the hash of the stored one.
    """
    normalized = email.strip().lower()
    if normalized.isascii():
        return normalized
    local, at, domain = normalized.rpartition("@")
    return f"{local}@{_ascii_domain(domain)}" if at else normalized


def normalize_phone(phone: str) -> str:
    """Keep only digits and a leading plus, so formatting differences do not matter."""
    digits = _NON_DIGITS.sub("", phone.strip())
    return ("+" + digits.replace("+", "")) if digits.startswith("+") else digits.replace("+", "")


def identifier_hash(key: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 of a normalized identifier; the value itself cannot be recovered from it."""
    normalized = normalize_email(value) if kind == "email" else normalize_phone(value)
    return hmac.new(key, f"{kind}:{normalized}".encode(), hashlib.sha256).hexdigest()


def identifier_hashes(key: bytes, *, emails: list[str], phones: list[str]) -> list[str]:
    """Hashes of every email and phone of a person, empty values left out."""
    hashes = [identifier_hash(key, "email", e) for e in emails if e and e.strip()]
    hashes += [identifier_hash(key, "phone", p) for p in phones if p and normalize_phone(p)]
    return hashes
