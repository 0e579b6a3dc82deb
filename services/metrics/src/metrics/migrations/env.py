"""Alembic environment of the metrics service."""

from shared.migrations import run_env

from metrics.adapters.tables import Base

run_env(Base.metadata)
