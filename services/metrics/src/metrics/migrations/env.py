"""Alembic environment of the metrics service."""

from metrics.adapters.tables import Base
from shared.migrations import run_env

run_env(Base.metadata)
