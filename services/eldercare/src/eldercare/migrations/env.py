"""Alembic environment of the eldercare service."""

from eldercare.adapters.tables import Base
from shared.migrations import run_env

run_env(Base.metadata)
