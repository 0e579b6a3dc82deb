"""Settings of the eldercare service (every field of ServiceSettings, plus its own)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the eldercare service, read from the environment."""

    service_name: str = Field(default="eldercare", description="Service name.")
    http_port: int = Field(default=8004, description="Port the HTTP server binds.")
