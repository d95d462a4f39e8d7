"""Settings of the console, read from the environment."""

from __future__ import annotations

from pydantic import Field

from crm_shared.settings import PlatformSettings


class ConsoleSettings(PlatformSettings):
    """Platform settings (the four services' URLs) plus the console's own."""

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
