"""One module per area of the API (after datasette's views)."""
