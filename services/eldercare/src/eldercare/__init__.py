"""Shequ eldercare service."""
