"""The read-only HTTP API (FastAPI) and the static page."""
