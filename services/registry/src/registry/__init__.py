"""Shequ registry service."""
