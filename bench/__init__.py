"""Benchmarks: `make bench` (10k and 100k documents) and `make bench-large` (1M); see RESULTS.md."""
