"""Settings of the metrics service (every field of ServiceSettings, plus its own)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the metrics service, read from the environment."""

    service_name: str = Field(default="metrics", description="Service name.")
    http_port: int = Field(default=8005, description="Port the HTTP server binds.")
    timezone: str = Field(
        default="Asia/Shanghai",
        description="IANA time zone of the cities served: an event's time becomes a day in it, "
        "and it says when a day (today, a deadline) begins and ends.",
    )
    catalogue_dir: str | None = Field(
        default=None,
        description="Directory holding `indicators.yaml` and `targets.yaml`; default: the "
        "catalogue shipped in the package (`metrics/catalogue/`). Validated at start-up.",
    )
    forecast_window_days: int = Field(
        default=365,
        ge=2,
        description="Days of daily history (at most, and not before the baseline date) the "
        "least-squares trend behind a target's forecast is fitted to.",
    )
    target_refresh_interval_s: float = Field(
        default=3600.0,
        gt=0,
        description="Seconds between re-evaluations of every target in every area, for what "
        "changes with the calendar alone (a deadline passing, a forecast, a new year).",
    )
    gauge_refresh_interval_s: float = Field(
        default=15.0,
        gt=0,
        description="Seconds between reloads of the per-target Prometheus gauges from the "
        "database (so every replica exports every target).",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)
