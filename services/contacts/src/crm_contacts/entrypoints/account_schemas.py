"""HTTP bodies of the accounts API, and its list cursor (folded name + id)."""

from __future__ import annotations

import base64
import binascii
import re

import orjson
from pydantic import BaseModel, ConfigDict, Field

from crm_shared.problems import BadRequest
from crm_shared.storage import Cursor

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# A folded name of up to 200 characters (several bytes each) plus an id, base64-encoded.
_CURSOR_MAX = 2048
_MALFORMED = "cursor is malformed; pass the next_cursor of a previous page"


class AccountCreate(BaseModel):
    """Body of `POST /v1/accounts`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="1-200 characters; unique per tenant, case and accents ignored")
    domain: str | None = Field(
        default=None, description="Web domain such as example.com (not a free-mail domain)"
    )


class AccountUpdate(BaseModel):
    """Body of `PATCH /v1/accounts/{id}`: only the fields present change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    domain: str | None = Field(default=None, description="null removes the domain")

    def present_fields(self) -> dict[str, object]:
        """The fields the client sent, with their values (null included)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class AccountPublic(BaseModel):
    """An account as clients see it."""

    id: str
    version: int
    name: str
    domain: str | None
    created_at: str
    updated_at: str


class AccountDetail(AccountPublic):
    """An account with the number of live contacts linked to it."""

    contact_count: int


class AccountList(BaseModel):
    """One page of accounts by name; pass `next_cursor` as `cursor` for the next."""

    items: list[AccountPublic]
    next_cursor: str | None


def encode_account_cursor(after: Cursor) -> str:
    """The opaque cursor continuing after this (folded name, id)."""
    raw = orjson.dumps([after.value, after.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_account_cursor(cursor: str) -> Cursor:
    """The position a cursor continues after; 400 if it was not made by encode_account_cursor."""
    if len(cursor) > _CURSOR_MAX:
        raise BadRequest(_MALFORMED)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = orjson.loads(base64.b64decode(padded, altchars=b"-_", validate=True))
    except (binascii.Error, ValueError):
        value = None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(part, str) for part in value)
        or _UUID.fullmatch(value[1]) is None
    ):
        raise BadRequest(_MALFORMED)
    return Cursor(value=value[0], id=value[1])
