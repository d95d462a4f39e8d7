"""Settings of the gdpr service, read from the environment (GDPR_PORT, GDPR_HTTP_TIMEOUT...)."""

from __future__ import annotations

from pydantic import Field

from crm_shared.settings import PlatformSettings


class GdprSettings(PlatformSettings):
    """Platform settings plus the gdpr service's own."""

    gdpr_host: str = "127.0.0.1"
    gdpr_port: int = 8004
    gdpr_http_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to wait for the contacts and timeline services."
    )
    gdpr_export_max_timeline_pages: int = Field(
        default=1000, ge=1, description="Upper bound on timeline pages fetched for one export."
    )
    gdpr_erasure_days: float = Field(
        default=30.0,
        gt=0,
        description="The legal deadline of an erasure request in days (GDPR Art. 12: a month).",
    )
    gdpr_deadline_check_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often open erasure requests are checked for lateness and resends.",
    )
    gdpr_erasure_resend_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Seconds after which an erasure command still lacking a receipt is sent "
        "again (a command lost with a broker's records); the wait doubles after each resend.",
    )
    gdpr_erasure_resend_attempts: int = Field(
        default=5, ge=0, description="How many times an erasure command is sent again at most."
    )
    gdpr_bundle_retention_hours: float = Field(
        default=72.0,
        gt=0,
        description="How long an access bundle (POST /v1/data-exports) can be downloaded again "
        "before it is deleted (each deletion is audited).",
    )
    gdpr_retention_check_seconds: float = Field(
        default=300.0, gt=0, description="How often expired access bundles are looked for."
    )
