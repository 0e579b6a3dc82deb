"""Alembic migrations of the registry service (run with `python -m shared.migrate registry`)."""
