"""Anonymised statistics from clear columns only."""
