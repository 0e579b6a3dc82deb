"""HTTP API of the registry service."""
