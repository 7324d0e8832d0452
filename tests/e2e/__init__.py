"""Browser journeys, one file per feature, sharing pages.py."""
