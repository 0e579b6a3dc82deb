"""Shequ employment service."""
