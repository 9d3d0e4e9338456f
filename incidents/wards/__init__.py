"""Wards and their residential groups."""
