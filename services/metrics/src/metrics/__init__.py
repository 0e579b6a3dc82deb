"""Shequ metrics service."""
