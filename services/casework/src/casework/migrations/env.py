"""Alembic environment of the casework service."""

from shared.migrations import run_env

from casework.adapters.tables import Base

run_env(Base.metadata)
