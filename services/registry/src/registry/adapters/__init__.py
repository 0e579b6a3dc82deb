"""Adapters of the registry service: ORM tables and repositories."""
