"""Benchmarks: ratios to a floor measured in the same run (see conftest.py)."""
