"""Shequ platform kit: what every Shequ service is built from.

Modules: ``settings`` (configuration), ``db`` (engines, sessions, naming),
``contracts`` (CloudEvents envelope and the event contract registry), ``outbox`` and
``relay`` (publish events in the business transaction), ``consumer`` (idempotent inbox,
retries, dead letters), ``http`` (app factory), ``auth`` (bearer tokens, scopes, areas),
``observability`` (metrics, logs, correlation ids).
"""
