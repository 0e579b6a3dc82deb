"""Alembic environment of the casework service."""

from casework.adapters.tables import Base
from shared.migrations import run_env

run_env(Base.metadata)
