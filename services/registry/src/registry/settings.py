"""Settings of the registry service (every field of ServiceSettings, plus its own)."""

from __future__ import annotations

from pydantic import Field
from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    """Configuration of the registry service, read from the environment."""

    service_name: str = Field(default="registry", description="Service name.")
    http_port: int = Field(default=8001, description="Port the HTTP server binds.")
    demo_data: bool = Field(
        default=False,
        description="Load the demo area hierarchy (Jincheng) at start-up if the register is "
        "empty; `make dev` turns it on.",
    )
