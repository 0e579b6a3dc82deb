"""Alembic environment of the registry service."""

from registry.adapters.tables import Base
from shared.migrations import run_env

run_env(Base.metadata)
