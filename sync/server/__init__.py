"""The central server (FastAPI). Never shipped to devices."""
