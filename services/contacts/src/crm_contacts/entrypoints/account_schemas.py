"""HTTP bodies of the accounts API, and its list cursor (folded name + id)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.cursors import ID, CursorCodec, Text
from crm_shared.storage import Cursor

# A folded name of up to 200 characters (several bytes each) plus an id, base64-encoded.
_CURSOR = CursorCodec(Text(), ID, max_length=2048)


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
    return _CURSOR.encode_position(after)


def decode_account_cursor(cursor: str) -> Cursor:
    """The position a cursor continues after; 400 if it was not made by encode_account_cursor."""
    return _CURSOR.decode_position(cursor)
