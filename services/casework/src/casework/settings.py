"""Settings of the casework service (every field of ServiceSettings, plus its own)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the casework service, read from the environment."""

    service_name: str = Field(default="casework", description="Service name.")
    http_port: int = Field(default=8002, description="Port the HTTP server binds.")
    demo_data: bool = Field(
        default=False,
        description="Load demo cases in several states at start-up when there are none; "
        "`make dev` leaves it off (it loads the synthetic city).",
    )
    deadline_sweep_interval_s: float = Field(
        default=900.0,
        gt=0,
        description="Seconds between sweeps of the running cases' time limits (each case raises "
        "`due_soon` and `overdue` once, and an overdue case is escalated to its street office); "
        "the first sweep runs at start-up.",
    )
    due_soon_days: int = Field(
        default=2,
        ge=0,
        le=30,
        description="A running case is due soon when this many working days or fewer are left.",
    )
    tracking_max_failures: int = Field(
        default=5,
        ge=1,
        description="Wrong case number / verification code pairs allowed per client address, "
        "and per case number, within `tracking_window_s`; more are answered 429.",
    )
    tracking_window_s: float = Field(
        default=900.0, gt=0, description="Window of the tracking rate limit, in seconds."
    )
