"""Adapters of the casework service: ORM tables and repositories."""
