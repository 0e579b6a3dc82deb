"""Alembic migrations of the metrics service (run with `python -m shared.migrate metrics`)."""
