"""HTTP API of the casework service."""
