"""Settings of the metrics service (every field of ServiceSettings, plus its own)."""

from __future__ import annotations

from pydantic import Field
from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the metrics service, read from the environment."""

    service_name: str = Field(default="metrics", description="Service name.")
    http_port: int = Field(default=8005, description="Port the HTTP server binds.")
