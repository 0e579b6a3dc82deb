"""Settings of the eldercare service (every field of ServiceSettings, plus its own)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the eldercare service, read from the environment."""

    service_name: str = Field(default="eldercare", description="Service name.")
    http_port: int = Field(default=8004, description="Port the HTTP server binds.")
    elder_age_threshold: int = Field(
        default=60,
        ge=1,
        le=120,
        description="Age at which a resident joins the elder roster (on the day they reach it).",
    )
    longevity_subsidy_monthly_fen: int = Field(
        default=10_000,
        gt=0,
        description="Monthly longevity living subsidy in fen (1/100 yuan) fixed on an "
        "entitlement when it is granted.",
    )
    entitlement_rules_file: str | None = Field(
        default=None,
        description="YAML file of age entitlement rules (default: the packaged "
        "eldercare/data/entitlements.yaml).",
    )
    daily_jobs_interval_s: float = Field(
        default=3600.0,
        gt=0,
        description="How often the roster, entitlement and subsidy jobs run (they are "
        "idempotent: each run enrols, proposes and pays what is due and not done yet).",
    )
    missed_visit_interval_s: float = Field(
        default=60.0, gt=0, description="How often visits past their window are flagged missed."
    )
    demo_data: bool = Field(
        default=False,
        description="Load demo elders, assessments, placements and visits at start-up if the "
        "roster is empty; `make dev` leaves it off (it loads the synthetic city).",
    )
