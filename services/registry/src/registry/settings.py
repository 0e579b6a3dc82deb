"""Settings of the registry service (every field of ServiceSettings, plus its own)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr

from registry.domain.milestones import DEFAULT_MILESTONES
from shared.settings import ServiceSettings

DEVELOPMENT_PII_ENCRYPTION_KEY = SecretStr("c2hlcXUtZGV2ZWxvcG1lbnQtcGlpLWVuYy1rZXktMzI=")
"""Built-in development key (base64 of 32 bytes); refused outside development."""
DEVELOPMENT_PII_HASH_KEY = SecretStr("c2hlcXUtZGV2ZWxvcG1lbnQtcGlpLWhhc2gta2V5MzI=")
"""Built-in development hash key; refused outside development."""


class Settings(ServiceSettings):
    """Configuration of the registry service, read from the environment."""

    service_name: str = Field(default="registry", description="Service name.")
    http_port: int = Field(default=8001, description="Port the HTTP server binds.")
    demo_data: bool = Field(
        default=False,
        description="Load the demo area hierarchy (Jincheng) at start-up if the register is "
        "empty; `make dev` leaves it off (it loads the synthetic city).",
    )
    pii_encryption_key: SecretStr = Field(
        default=DEVELOPMENT_PII_ENCRYPTION_KEY,
        description="AES-256-GCM key encrypting national id numbers at rest: base64 of 32 random "
        "bytes (`openssl rand -base64 32`). The development default is refused outside "
        "development. To rotate, move the old key to `pii_retired_encryption_keys`.",
    )
    pii_retired_encryption_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Earlier encryption keys (JSON list of base64 strings), kept to read values "
        "they encrypted; new values always use `pii_encryption_key`.",
    )
    pii_hash_key: SecretStr = Field(
        default=DEVELOPMENT_PII_HASH_KEY,
        description="HMAC-SHA256 key of the national id look-up hash (exact look-up, duplicate "
        "detection): base64 of at least 32 random bytes, separate from the encryption key. "
        "The development default is refused outside development; changing it means re-hashing "
        "every resident.",
    )
    permit_scan_interval_s: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds between scans for floating residents' permits expiring within 30 "
        "days (each raises one `permit_expiring` event); the first scan runs at start-up.",
    )
    age_milestones: list[Annotated[int, Field(ge=1, le=130)]] = Field(
        default_factory=lambda: list(DEFAULT_MILESTONES),
        min_length=1,
        description="Ages (JSON list) on whose birthday a living resident's "
        "`registry.resident.age_reached` event is published: what casework's matter "
        "conditions, employment's priority groups and eldercare's roster and entitlements "
        "need (a rule on another age needs that age here).",
    )
    age_milestone_interval_s: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds between runs of the age-milestone job; each run publishes the "
        "milestones of the days since the last day covered, up to today (the first run "
        "at start-up).",
    )
    area_hierarchy_file: Path | None = Field(
        default=None,
        description="JSON file of the area hierarchy (levels, which level may hold which, the "
        "grassroots ones), as `registry/data/hierarchy.json`, the default: city > district > "
        "street > community and city > county > township > village.",
    )
