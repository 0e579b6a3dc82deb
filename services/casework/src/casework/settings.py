"""Settings of the casework service (every field of ServiceSettings, plus its own)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the casework service, read from the environment."""

    service_name: str = Field(default="casework", description="Service name.")
    http_port: int = Field(default=8002, description="Port the HTTP server binds.")
