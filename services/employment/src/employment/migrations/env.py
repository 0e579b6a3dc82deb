"""Alembic environment of the employment service."""

from shared.migrations import run_env

from employment.adapters.tables import Base

run_env(Base.metadata)
