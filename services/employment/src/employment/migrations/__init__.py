"""Alembic migrations of the employment service (run with `python -m shared.migrate employment`)."""
