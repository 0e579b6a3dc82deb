"""Configuration shared by every service, read from the environment (pydantic-settings).

Each service subclasses :class:`ServiceSettings`, sets ``service_name`` and its port, and may
add its own fields. Every field is documented in ``docs/operations.md`` (generated table).
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.contracts.core import DEFAULT_SCHEMA_BASE_URL
from shared.ratelimit import async_storage, parse_limit

DEVELOPMENT_ENVIRONMENT = "development"
"""The only ``environment`` in which the built-in development secret and keys are accepted."""
PRODUCTION_ENVIRONMENT = "production"
"""The ``environment`` of a service started without ``ENVIRONMENT``."""


class ServiceSettings(BaseSettings):
    """Settings every Shequ service reads. Environment variables use the field name in capitals."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    service_name: str = Field(description="Name of the service; also its event source and group.")
    environment: str = Field(
        default=PRODUCTION_ENVIRONMENT,
        description="Only `development` accepts the built-in development token secret and "
        "registry PII keys; any other value, and the default when unset, refuses to start "
        "without real keys. `make dev` and the tests set `development` explicitly.",
    )
    http_host: str = Field(default="127.0.0.1", description="Address the HTTP server binds.")
    http_port: int = Field(default=8000, description="Port the HTTP server binds.")
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port of the Prometheus `/metrics` endpoint, served apart from the API "
        "(on `http_host`) so that only Prometheus reaches it. Default: `http_port` + 1000 "
        "(registry 9001, casework 9002, employment 9003, eldercare 9004, metrics 9005); "
        "Kubernetes sets 9090. `0` picks a free port (tests).",
    )
    http_max_body_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        description="Largest request body accepted (bytes); a larger one is answered 413 "
        "(problem+json) before it is read in full.",
    )
    http_max_bulk_body_bytes: int = Field(
        default=256 * 1024 * 1024,
        gt=0,
        description="Largest request body of bulk routes, those declared with "
        "`shared.http.BULK_BODY` (the registry's `POST /imports`), which stream it.",
    )
    http_body_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a client may take to send a request body; slower is answered "
        "408 and the connection closed. Bulk routes: seconds between two chunks of the body.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy async URL. Default `sqlite+aiosqlite:///var/<service>.db`; "
        "production uses `postgresql+asyncpg://user:password@host/db`.",
    )
    database_echo: bool = Field(default=False, description="Log every SQL statement.")
    migrate_on_start: bool = Field(
        default=True,
        description="Run Alembic migrations to head when the service starts. Turn off when a "
        "Kubernetes Job runs `alembic upgrade head` before rollout.",
    )
    idempotency_purge_interval_s: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds between purges of `Idempotency-Key` records older than 24 h.",
    )
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", description="Comma-separated Kafka bootstrap servers."
    )
    kafka_security_protocol: str = Field(
        default="PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."
    )
    kafka_sasl_mechanism: str | None = Field(
        default=None, description="SASL mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)."
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    kafka_ssl_cafile: str | None = Field(
        default=None, description="CA bundle for verifying the brokers' certificates."
    )
    events_schema_base_url: str = Field(
        default=DEFAULT_SCHEMA_BASE_URL,
        description="Public URL under which the event JSON Schemas are served (every service "
        "serves them at `/schemas/events/<type>.json`); each event's `dataschema` is "
        "`<this>/<type>.json`. Give every service the same value. The default is the registry "
        "under `make dev`.",
    )
    kafka_enable_idempotence: bool = Field(
        default=False,
        description="Use the idempotent producer. Turn on against Apache Kafka; the local "
        "Tansu broker does not support it.",
    )
    kafka_create_topics: bool = Field(
        default=True,
        description="Create the topics the service produces and consumes at start-up if missing "
        "(off where topics are managed, e.g. Strimzi KafkaTopic resources).",
    )
    kafka_topic_partitions: int = Field(
        default=3, description="Partitions for topics the service creates."
    )
    kafka_replication_factor: int = Field(
        default=1, description="Replication factor for topics the service creates."
    )
    relay_enabled: bool = Field(default=True, description="Run the outbox relay in this process.")
    relay_batch_size: int = Field(
        default=2000,
        description="Outbox rows published per batch at most (why 2,000: DR-1 in "
        "docs/architecture.md).",
    )
    relay_poll_interval_s: float = Field(
        default=0.2, description="Seconds between outbox polls when it is empty."
    )
    relay_linger_s: float = Field(
        default=0.05,
        description="Seconds the relay waits after publishing a partial batch, so that rows "
        "committed meanwhile leave together in the next one (fewer, larger batches under a "
        "steady trickle of writes, at the cost of this much latency; 0: poll again at once).",
    )
    relay_lease_ttl_s: float = Field(
        default=15.0,
        description="Seconds a relay's leadership lasts without renewal; another replica takes "
        "over after this.",
    )
    relay_max_backoff_s: float = Field(
        default=10.0, description="Longest wait between publish attempts while the broker is down."
    )
    relay_retention_hours: float = Field(
        default=168.0, description="Published outbox rows are deleted after this many hours."
    )
    consumer_enabled: bool = Field(default=True, description="Run the event consumers.")
    consumer_max_attempts: int = Field(
        default=5, description="Handler attempts before an event goes to the dead-letter topic."
    )
    consumer_backoff_s: float = Field(
        default=0.2, description="First retry delay; doubles per attempt."
    )
    consumer_max_backoff_s: float = Field(default=5.0, description="Longest retry delay.")
    jobs_enabled: bool = Field(
        default=True,
        description="Run the periodic jobs (`ServiceRuntime.every`: purges, scans, sweeps) in "
        "this process; off where one Deployment runs them for all (deploy/k8s).",
    )
    auth_issuer: str = Field(default="shequ-dev", description="Expected JWT `iss`.")
    auth_audience: str = Field(default="shequ", description="Expected JWT `aud`.")
    auth_algorithms: list[str] = Field(
        default_factory=lambda: ["HS256"],
        description='Accepted JWT algorithms, e.g. `["RS256"]` in production.',
    )
    auth_jwt_secret: SecretStr = Field(
        default=SecretStr("shequ-development-secret-change-me-0123456789"),
        description="HMAC secret for HS256 tokens. Only for development; refused outside it.",
    )
    auth_public_key: str | None = Field(
        default=None, description="PEM public key for RS256/ES256 tokens."
    )
    auth_jwks_url: str | None = Field(
        default=None, description="JWKS endpoint of the identity provider (overrides the key)."
    )
    auth_leeway_s: int = Field(default=30, description="Clock skew allowed on `exp`/`nbf`.")
    auth_max_token_lifetime_s: int = Field(
        default=24 * 3600,
        gt=0,
        description="Longest lifetime accepted: a token whose `exp` lies further than this "
        "after its `iat`, or after now, is refused (401).",
    )
    auth_require_at_jwt: bool = Field(
        default=False,
        description="Refuse tokens whose `typ` header is not `at+jwt` (RFC 9068); turn on when "
        "the identity provider sets it. Off, a `typ` other than `at+jwt` or `JWT` is refused.",
    )
    auth_jwks_refetch_interval_s: float = Field(
        default=60.0,
        ge=0,
        description="Least seconds between two JWKS downloads caused by tokens naming an "
        "unknown key id (`kid`); meanwhile such tokens are refused without a download.",
    )
    auth_refusal_log_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="Refused tokens are logged once per reason per this many seconds, with how "
        "many were refused since; `shequ_auth_refusals_total` counts every one.",
    )
    rate_limit_writes: str = Field(
        default="300/minute",
        description="Writes (POST, PUT, PATCH, DELETE) one token subject may make, in `limits` "
        "notation (`300/minute`, `10/second`), counted in `RATE_LIMIT_STORAGE_URI`; more are "
        "answered 429 with `Retry-After`. Empty: no limit.",
    )
    rate_limit_not_found: str = Field(
        default="120/minute",
        description="404 answers one token subject may receive (`limits` notation), counted in "
        "`RATE_LIMIT_STORAGE_URI`; past it every request of that subject is answered 429 until "
        "the window lets it in. Empty: no limit.",
    )
    rate_limit_storage_uri: str = Field(
        default="memory://",
        description="Where the rate limits count, as a `limits` storage URI: `memory://` per "
        "process (N replicas allow N times a limit), or a Redis shared by the replicas "
        "(`redis://host:6379/0`, `rediss://`, `redis+sentinel://`) so a limit holds for the "
        "whole service. Unreachable: requests are let through and a warning logged.",
    )
    log_level: str = Field(default="INFO", description="Root log level.")
    log_json: bool = Field(default=True, description="Write logs as one JSON object per line.")

    @property
    def is_development(self) -> bool:
        """Whether the built-in development secret and keys may be used."""
        return self.environment == DEVELOPMENT_ENVIRONMENT

    def environment_refusal(self, what: str, remedy: str) -> str:
        """An operator's message: ``what`` is refused in this environment; set ``remedy``, or
        ``ENVIRONMENT=development`` on a development machine."""
        if "environment" in self.model_fields_set:
            where = f"ENVIRONMENT is {self.environment!r}"
        else:
            where = f"ENVIRONMENT is not set (so {self.environment!r})"
        return (
            f"{what} is refused because {where}. {remedy} On a development machine set "
            f"ENVIRONMENT={DEVELOPMENT_ENVIRONMENT} instead (`make dev` does)."
        )

    @field_validator("rate_limit_writes", "rate_limit_not_found")
    @classmethod
    def _readable_limit(cls, value: str) -> str:
        parse_limit(value)  # a ValueError names the field at start-up
        return value

    @field_validator("rate_limit_storage_uri")
    @classmethod
    def _usable_storage(cls, value: str) -> str:
        async_storage(value)  # a ValueError names the field at start-up (no connection made)
        return value

    def resolved_metrics_port(self) -> int:
        """The port of the Prometheus endpoint: ``metrics_port``, else ``http_port`` + 1000."""
        return self.http_port + 1000 if self.metrics_port is None else self.metrics_port

    def resolved_database_url(self) -> str:
        """The configured database URL, or the SQLite file ``var/<service>.db``."""
        return self.database_url or f"sqlite+aiosqlite:///var/{self.service_name}.db"

    @property
    def consumer_group(self) -> str:
        """Kafka consumer group of this service (one per service)."""
        return self.service_name

    def kafka_client_options(self) -> dict[str, object]:
        """Connection options shared by every aiokafka client the service creates."""
        options: dict[str, object] = {
            "bootstrap_servers": self.kafka_bootstrap_servers,
            "security_protocol": self.kafka_security_protocol,
        }
        if self.kafka_sasl_mechanism:
            options["sasl_mechanism"] = self.kafka_sasl_mechanism
            options["sasl_plain_username"] = self.kafka_sasl_username
            if self.kafka_sasl_password is not None:
                options["sasl_plain_password"] = self.kafka_sasl_password.get_secret_value()
        if self.kafka_security_protocol in {"SSL", "SASL_SSL"}:
            from aiokafka.helpers import create_ssl_context

            options["ssl_context"] = create_ssl_context(cafile=self.kafka_ssl_cafile)
        return options
