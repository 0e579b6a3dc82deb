"""Alembic environment of the employment service."""

from employment.adapters.tables import Base
from shared.migrations import run_env

run_env(Base.metadata)
