"""Alembic environment of the registry service."""

from shared.migrations import run_env

from registry.adapters.tables import Base

run_env(Base.metadata)
