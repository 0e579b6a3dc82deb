"""HTTP API of the eldercare service."""
