"""A supervisor's progress by area and the households to visit."""
