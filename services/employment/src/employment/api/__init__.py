"""HTTP API of the employment service."""
