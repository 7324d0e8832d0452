"""Shared screen pieces: translations, widgets, typed form holders."""
