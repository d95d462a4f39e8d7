"""Email addresses: strip, lower-case, IDNA-encode internationalized domains, check the shape.

Imports validate up to a million addresses, so this stays a regular expression (~0.5 µs) rather
than `email_validator` (~22-65 µs). A non-ASCII domain (`bücher.de`) is converted to its ASCII
form (`xn--bcher-kva.de`) with Python's IDNA 2003 codec, cached per domain because imports
repeat domains; an ASCII address never reaches the codec. Local parts must be ASCII.
"""

from __future__ import annotations

import re
from functools import lru_cache

EMAIL_MAX = 254
# local@domain.tld, checked after normalization.
EMAIL_PATTERN = re.compile(
    r"(?!\.)(?!.*\.\.)[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}(?<!\.)"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
)
_DOMAIN_PATTERN = re.compile(EMAIL_PATTERN.pattern.split("@", 1)[1])


@lru_cache(maxsize=4096)
def ascii_domain(domain: str) -> str | None:
    """The domain in ASCII (IDNA) form, lower-cased; None if it cannot be encoded."""
    if domain.isascii():
        return domain.lower()
    try:
        return domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


def normalized_email(value: str) -> str | None:
    """The address stripped, lower-cased and with an ASCII domain; None if it is not valid."""
    email = value.strip().lower()
    if not email.isascii():
        local, at, domain = email.rpartition("@")
        encoded = ascii_domain(domain) if at else None
        if encoded is None:
            return None
        email = f"{local}@{encoded}"
    if len(email) > EMAIL_MAX or EMAIL_PATTERN.fullmatch(email) is None:
        return None
    return email


def normalized_domain(value: str) -> str | None:
    """A bare domain (accounts' `domain`) lower-cased in ASCII form; None if it is not valid."""
    encoded = ascii_domain(value.strip().lower())
    if encoded is None or len(encoded) > EMAIL_MAX or _DOMAIN_PATTERN.fullmatch(encoded) is None:
        return None
    return encoded


def email_domain(email: str | None) -> str | None:
    """The domain of a normalized address (None for no address)."""
    if not email:
        return None
    return email.rpartition("@")[2] or None
