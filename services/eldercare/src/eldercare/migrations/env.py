"""Alembic environment of the eldercare service."""

from shared.migrations import run_env

from eldercare.adapters.tables import Base

run_env(Base.metadata)
