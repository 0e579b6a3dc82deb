"""Alembic migrations of the eldercare service (run with `python -m shared.migrate eldercare`)."""
