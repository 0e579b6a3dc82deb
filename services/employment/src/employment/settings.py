"""Settings of the employment service (every field of ServiceSettings, plus its own)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the employment service, read from the environment."""

    service_name: str = Field(default="employment", description="Service name.")
    http_port: int = Field(default=8003, description="Port the HTTP server binds.")
