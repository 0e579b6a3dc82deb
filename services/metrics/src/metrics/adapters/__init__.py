"""Adapters of the metrics service: ORM tables and repositories."""
