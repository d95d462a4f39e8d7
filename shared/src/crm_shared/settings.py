"""Settings common to every service; each service subclasses it with its own env prefix."""

from __future__ import annotations

import sys
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crm_shared.identity import known_region

DEV_API_KEYS = "dev-admin-key:demo:admin"
DEV_SUPPRESSION_KEY = "dev-only-suppression-key-change-me"


class PlatformSettings(BaseSettings):
    """Values every service reads from the environment without a prefix."""

    model_config = SettingsConfigDict(extra="ignore")

    crm_env: Literal["development", "test", "production"] = "development"
    # uvicorn's HTTP parser and event loop. httptools and uvloop (installed with crm-shared)
    # served a GET by id in less CPU than h11 and asyncio's loop (bench/read_bench.py --stack);
    # "h11"/"asyncio" are the pure-Python stack, for comparing or where no wheel exists.
    crm_http_parser: Literal["httptools", "h11"] = "httptools"
    crm_event_loop: Literal["uvloop", "asyncio"] = (
        "asyncio" if sys.platform == "win32" else "uvloop"  # uvloop has no Windows wheel
    )
    crm_api_keys: str = ""
    crm_api_keys_file: str = Field(
        default="",
        description=(
            "A file of hashed API keys (sha256-hex:tenant:roles:label per line), e.g. a mounted"
            " secret; read again when it changes, so keys rotate without a restart."
        ),
    )
    crm_suppression_key: str = ""
    crm_oidc_issuer: str = Field(
        default="", description="Accept bearer JWTs from this OIDC issuer (empty: API keys only)."
    )
    crm_oidc_jwks_url: str = Field(
        default="", description="The issuer's JWKS; empty: found through its openid-configuration."
    )
    crm_oidc_audience: str = Field(default="", description="Required `aud`; empty: not checked.")
    crm_oidc_tenant_claim: str = "tenant"
    crm_rate_limit: str = Field(
        default="0", description="Every key's limit, rate[/burst] requests per second; 0: none."
    )
    crm_rate_limits: str = Field(
        default="", description="Per-key limits: actor=rate[/burst], comma-separated."
    )
    crm_oidc_roles_claim: str = "roles"
    crm_oidc_keys_lifespan_seconds: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="How long the issuer's keys are held before they are fetched again.",
    )
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    crm_personal_data_retention_days: float = Field(
        default=30.0,
        gt=0,
        le=30.0,
        description=(
            "Retention of the topics that carry personal data, at most the erasure deadline "
            "(a month): an erased person's records age out of Kafka in time."
        ),
    )
    kafka_idempotence: bool = Field(
        default=False,
        description="Idempotent producer; off for embedded Tansu, which lacks InitProducerId.",
    )
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_linger_ms: int = Field(
        default=0,
        ge=0,
        description=(
            "How long a producer holds a record for others to join its batch. 0: records a"
            " burst hands over together (an outbox batch) still share batches, and a lone one"
            " goes at once (5 ms added that much to every low-rate hop; make bench-broker)."
        ),
    )
    kafka_max_batch_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description=(
            "The most bytes of records a producer sends in one batch per partition: 256 KiB"
            " halves the broker's and the producer's CPU per record against Kafka's 16 KiB."
        ),
    )
    kafka_compression: Literal["gzip"] | None = Field(
        default=None,
        description=(
            "How producers compress record batches (gzip, or none). gzip cuts the embedded"
            " broker's CPU per record by two thirds but costs the producer more than that."
        ),
    )
    # Tansu delays a group join by about half the session timeout, so the embedded stack and the
    # tests run with a short one; production keeps Kafka's usual 10 s.
    kafka_session_timeout_ms: int = 10000
    kafka_heartbeat_interval_ms: int = 1000
    kafka_metadata_max_age_ms: int = Field(
        default=30_000,
        ge=100,
        description=(
            "How often a consumer asks the broker for its topics' partitions (aiokafka's default"
            " is 5 minutes). A consumer that joined before its topics existed (a cluster's"
            " crm-create-topics Job still running, or the in-memory embedded broker restarted"
            " empty) gets no partitions until it asks again; the embedded stack asks every 2 s."
        ),
    )
    kafka_fetch_max_wait_ms: int = Field(
        default=500,
        ge=1,
        description=(
            "How long a consumer's fetch may wait for data (Kafka's default 500 ms). Tansu answers"
            " a waiting fetch only when the wait runs out, so the embedded stack uses 25 ms and the"
            " tests 10 ms: a hop then costs milliseconds instead of about a quarter second."
        ),
    )
    kafka_unhurried_fetch_max_wait_ms: int = Field(
        default=250,
        ge=1,
        description=(
            "The fetch wait of the consumer groups nobody waits on by the millisecond"
            " (crm_shared.wiring.UNHURRIED_GROUPS: erasures, receipts, an import's batches and"
            " its cancel, the audit log),"
            " when longer than KAFKA_FETCH_MAX_WAIT_MS: an idle group then asks the embedded"
            " broker 4 times a second instead of 40."
        ),
    )
    crm_require_topics: bool = Field(
        default=False,
        description=(
            "Never create topics: wait until they exist (on a cluster the crm-create-topics Job"
            " creates them with their replicas). Off for the embedded stack, which creates them."
        ),
    )
    crm_store: Literal["sqlite", "mongodb"] = "sqlite"
    crm_lease_seconds: float = Field(
        default=10.0,
        gt=0,
        description=(
            "Time to live of the store leases that let one replica at a time run the outbox relay"
            " and each background loop; a crashed holder's work moves to another after this."
        ),
    )
    mongodb_uri: str = ""
    crm_data_dir: str = "data"
    crm_log_level: str = "INFO"
    crm_log_format: Literal["json", "text"] = Field(
        default="json", description="json: one JSON object per line; text: plain readable lines."
    )
    crm_log_events: bool = Field(
        default=False,
        description=(
            "One INFO line per event a consumer handled (type, event id, tenant, trace id, time"
            " taken); off by default because an import of a million rows makes millions."
        ),
    )
    crm_contacts_url: str = "http://127.0.0.1:8001"
    crm_timeline_url: str = "http://127.0.0.1:8002"
    crm_importer_url: str = "http://127.0.0.1:8003"
    crm_gdpr_url: str = "http://127.0.0.1:8004"
    crm_default_region: str = Field(
        default="US",
        # The old per-service names still work (deprecated): CRM_DEFAULT_REGION wins over them.
        validation_alias=AliasChoices(
            "crm_default_region", "contacts_default_region", "importer_default_region"
        ),
        description=(
            "Country (ISO 3166) of phones typed without one, for every service: contacts store"
            " them in E.164 with it and every service hashes them with it for erasure look-ups."
        ),
    )

    @field_validator("crm_default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        return known_region(value)

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> PlatformSettings:
        if self.crm_env == "production":
            if not (self.crm_api_keys.strip() or self.crm_api_keys_file or self.crm_oidc_issuer):
                raise ValueError(
                    "CRM_API_KEYS, CRM_API_KEYS_FILE or CRM_OIDC_ISSUER must be set when"
                    " CRM_ENV=production"
                )
            if "dev-admin-key" in self.crm_api_keys:
                raise ValueError("the development key dev-admin-key is refused in production")
            if not self.crm_suppression_key or self.crm_suppression_key == DEV_SUPPRESSION_KEY:
                raise ValueError("CRM_SUPPRESSION_KEY must be set to a secret in production")
            if self.crm_store == "mongodb" and not self.mongodb_uri:
                raise ValueError("MONGODB_URI must be set when CRM_STORE=mongodb")
        return self

    @property
    def api_keys_spec(self) -> str:
        """The configured API keys, or the development key when no key is configured at all."""
        if (self.crm_api_keys_file or self.crm_oidc_issuer) and not self.crm_api_keys.strip():
            return ""
        return self.crm_api_keys.strip() or DEV_API_KEYS

    @property
    def suppression_key(self) -> bytes:
        """The HMAC key for identifier hashes (suppression list, erasure look-ups)."""
        return (self.crm_suppression_key or DEV_SUPPRESSION_KEY).encode()
