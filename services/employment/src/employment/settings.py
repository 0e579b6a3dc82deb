"""Settings of the employment service (every field of ServiceSettings, plus its own)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the employment service, read from the environment."""

    service_name: str = Field(default="employment", description="Service name.")
    http_port: int = Field(default=8003, description="Port the HTTP server binds.")
    demo_data: bool = Field(
        default=False,
        description="Load demo employers, vacancies, courses, seekers and placements at "
        "start-up if there are none yet; `make dev` leaves it off (it loads the synthetic city).",
    )
    follow_up_interval_s: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds between the runs of the periodic job that turns retention checks "
        "that fell due into follow-up tasks, puts loans in arrears or default and re-derives "
        "the 4050 group of seekers whose age crosses a boundary this year; the first run is at "
        "start-up.",
    )
