"""Alembic migrations of the casework service (run with `python -m shared.migrate casework`)."""
