"""Test fixtures for Shequ services: a real Kafka-protocol broker (Tansu), a fresh PostgreSQL
database per test session, SQLite files, and token helpers. Loaded as a pytest plugin
(``-p shared.testing.plugin``)."""
