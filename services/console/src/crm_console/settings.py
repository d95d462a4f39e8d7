"""Settings of the console, read from the environment."""

from __future__ import annotations

from pydantic import Field

from crm_shared.held_uploads import DEFAULT_HOLD_MINUTES, MAX_HOLD_MINUTES
from crm_shared.settings import PlatformSettings


class ConsoleSettings(PlatformSettings):
    """Platform settings (the four services' URLs, the store) plus the console's own.

    Sessions and held uploads live in the console's store (CRM_STORE: SQLite under
    CRM_DATA_DIR, or MongoDB at MONGODB_URI), so any number of replicas serve one user.
    """

    console_host: str = "127.0.0.1"
    console_port: int = 8000
    console_session_idle_minutes: int = Field(
        default=480, ge=1, description="A session unused this long signs its user out"
    )
    console_secure_cookies: bool = Field(
        default=False,
        description="Mark the session cookie Secure (set it when the console is served on https)",
    )
    console_upstream_timeout_s: float = 30.0
    console_max_upload_mb: int = Field(
        default=200, ge=1, le=2048, description="The largest file the import wizard accepts"
    )
    console_upload_hold_minutes: int = Field(
        default=DEFAULT_HOLD_MINUTES,
        ge=1,
        # Held uploads take no part in erasure: their short life is what erases them.
        le=MAX_HOLD_MINUTES,
        description="An uploaded file whose import was not started is deleted after this long "
        f"(at most {MAX_HOLD_MINUTES}: held files are erased by expiring, crm_shared.held_uploads)",
    )
    console_purge_interval_s: float = Field(
        default=60.0, gt=0, description="How often expired sessions and uploads are deleted"
    )
