"""Shequ casework service."""
