"""The gate's defaults, defined once: the CLI, the Python API and the pytest plugin share them."""

from __future__ import annotations

DEFAULT_EXAMPLES = 100
"""Examples per property: enough for the derandomised search to reach every case family."""

DEFAULT_TIME_LIMIT = 10.0
"""Seconds one call of the target may take before the gate calls it hung."""
