"""Naming rules every service applies alike: custom-field keys and tag names, written once.

The contacts service enforces them on every write; the importer, the shared filter and the
HTTP schemas check the same rules up front so a bad key or tag is refused with the same message
wherever it is sent.
"""

from __future__ import annotations

import re

# A custom field's key: snake_case, starting with a letter, at most 64 characters.
CUSTOM_FIELD_KEY_BODY = r"[a-z][a-z0-9_]{0,63}"
CUSTOM_FIELD_KEY_PATTERN = rf"^{CUSTOM_FIELD_KEY_BODY}$"
CUSTOM_FIELD_KEY_RULE = (
    f"must match {CUSTOM_FIELD_KEY_PATTERN} "
    "(lower-case letters, digits and underscores, starting with a letter)"
)
_CUSTOM_FIELD_KEY = re.compile(CUSTOM_FIELD_KEY_BODY)

# A tag's name, once cleaned: 1 to 50 characters.
TAG_NAME_MAX = 50
TAG_NAME_RULE = f"must be 1-{TAG_NAME_MAX} characters"


def is_custom_field_key(key: object) -> bool:
    """True if `key` is a valid custom-field key."""
    return isinstance(key, str) and _CUSTOM_FIELD_KEY.fullmatch(key) is not None


def clean_tag_name(name: str) -> str:
    """A tag name as stored: surrounding blanks dropped, inner runs of blanks made one space."""
    return " ".join(name.split())


def is_tag_name(cleaned: str) -> bool:
    """True if a cleaned tag name has an allowed length."""
    return 1 <= len(cleaned) <= TAG_NAME_MAX
