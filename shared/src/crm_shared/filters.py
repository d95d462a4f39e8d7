"""The typed contact filter shared by listing, exports and bulk actions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ContactFilter(BaseModel):
    """Which contacts: free text over name, email, phone and company, and a tag."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    q: str | None = Field(default=None, max_length=200)
    tag: str | None = Field(default=None, max_length=100)

    def query_params(self) -> dict[str, str]:
        """The filter as `GET /v1/contacts` query parameters."""
        return {k: v for k, v in (("q", self.q), ("tag", self.tag)) if v}
