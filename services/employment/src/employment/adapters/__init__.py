"""Adapters of the employment service: ORM tables and repositories."""
