"""Adapters of the eldercare service: ORM tables and repositories."""
